"""Luna's persona and phrasing, as versioned template files shipped with the package.

``v1/system.<lang>.md`` is the system prompt of the chat model; ``v1/phrases.<lang>.toml`` holds the
fixed sentences of extractive, data and "I don't know" answers. Each answer records the version it
was made with, so a change of tone can be traced and compared. A new version is a new folder.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from string import Template
from typing import Any

from luna_core.luna.language import Language

PROMPT_VERSION = "v1"


def _read(version: str, name: str) -> str:
    return resources.files(__name__).joinpath(version, name).read_text(encoding="utf-8")


@cache
def system_template(language: Language, version: str = PROMPT_VERSION) -> Template:
    return Template(_read(version, f"system.{language}.md"))


@cache
def phrases(language: Language, version: str = PROMPT_VERSION) -> dict[str, Any]:
    return tomllib.loads(_read(version, f"phrases.{language}.toml"))


def phrase(language: Language, key: str, version: str = PROMPT_VERSION, **values: object) -> str:
    """The phrase ``section.name`` with ``values`` filled in; a missing value is an error, not a gap."""
    section, name = key.split(".", 1)
    return Template(phrases(language, version)[section][name]).substitute(values)
