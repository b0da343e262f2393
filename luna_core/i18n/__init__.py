"""The one way the server writes text for people: message catalogues per language (TOML files in
``messages/``, plus the folder ``LUNA_I18N_DIR`` names), rendered when someone reads them, in their
language, with numbers, money and dates in their locale (Babel).

    translate("playbook.peak_warning.title", "de", contracted=11, span="17:00-19:00")

Stored things (the playbook's recommendations) keep a message key and its parameters, never
rendered text, so a new language is a new catalogue file and nothing else. Luna's versioned phrases
(``luna/prompts/v1/phrases.<lang>.toml``) are a catalogue of the same kind.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from luna_core.i18n.catalogue import SOURCE_LANGUAGE, Catalogue, MissingMessage
from luna_core.i18n.negotiation import negotiate
from luna_core.i18n.render import MessageError
from luna_core.i18n.translator import Translator

MESSAGES = resources.files(__name__).joinpath("messages")


@cache
def catalogue(extra_dirs: tuple[Path, ...] = (), strict: bool = False) -> Catalogue:
    """The built-in messages, overridden and extended by ``extra_dirs`` (in order)."""
    return Catalogue([MESSAGES, *extra_dirs], strict=strict)


def catalogue_for(settings: Any) -> Catalogue:
    """The catalogue a process configured by ``settings`` uses: strict in tests, so a missing
    translation fails loudly there instead of falling back to English."""
    extra = (Path(settings.i18n_dir),) if getattr(settings, "i18n_dir", None) else ()
    found = catalogue(extra, strict=settings.environment == "test")
    found.languages()  # read now: a wrong LUNA_I18N_DIR or a broken file stops the start, with the reason
    return found


def translate(key: str, lang: str, /, catalogue_: Catalogue | None = None, **params: Any) -> str:
    return (catalogue_ or catalogue()).translate(key, lang, **params)


def translator(lang: str, catalogue_: Catalogue | None = None) -> Translator:
    return (catalogue_ or catalogue()).translator(lang)


def available(catalogue_: Catalogue | None = None) -> Sequence[str]:
    return (catalogue_ or catalogue()).languages()


__all__ = [
    "SOURCE_LANGUAGE",
    "Catalogue",
    "MessageError",
    "MissingMessage",
    "Translator",
    "available",
    "catalogue",
    "catalogue_for",
    "negotiate",
    "translate",
    "translator",
]
