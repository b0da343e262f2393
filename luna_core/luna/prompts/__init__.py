"""Luna's persona and phrasing, as versioned template files shipped with the package.

``v1/system.<lang>.md`` is the system prompt of the chat model; ``v1/phrases.<lang>.toml`` holds the
fixed sentences of extractive, data and "I don't know" answers, as a message catalogue of the one
i18n mechanism (``luna_core.i18n``: same file naming, templates, fallback and checks). Each answer
records the version it was made with, so a change of tone can be traced and compared. A new version
is a new folder.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from string import Template
from typing import Any

from luna_core.i18n import Catalogue
from luna_core.luna.language import Language

PROMPT_VERSION = "v1"


def _folder(version: str):
    return resources.files(__name__).joinpath(version)


def _read(version: str, name: str) -> str:
    return _folder(version).joinpath(name).read_text(encoding="utf-8")


@cache
def system_template(language: Language, version: str = PROMPT_VERSION) -> Template:
    return Template(_read(version, f"system.{language}.md"))


@cache
def catalogue(version: str = PROMPT_VERSION) -> Catalogue:
    return Catalogue([_folder(version)])


@cache
def phrases(language: Language, version: str = PROMPT_VERSION) -> dict[str, Any]:
    return tomllib.loads(_read(version, f"phrases.{language}.toml"))


def phrase(language: Language, key: str, version: str = PROMPT_VERSION, **values: object) -> str:
    """The phrase ``section.name`` with ``values`` filled in; a missing value is an error, not a gap."""
    return catalogue(version).translate(f"phrases.{key}", language, **values)
