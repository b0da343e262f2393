class IngestError(ValueError):
    """The input as a whole cannot be ingested (unreadable, wrong columns); nothing was written."""
