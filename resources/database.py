"""PostgreSQL (and the data folder beside it: landing inboxes, stored files)."""

from sqlalchemy import Engine

from luna_core.db.engine import app_engine
from resources.platform import PlatformResource


class DatabaseResource(PlatformResource):
    """The application role's engine (row-level security on), and the settings the assets read."""

    def engine(self) -> Engine:
        return app_engine(self.settings())
