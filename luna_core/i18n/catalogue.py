"""Message catalogues: every sentence the server writes for people, per language, in TOML files.

A catalogue is read from one or more folders. Each folder holds files named ``<domain>.<lang>.toml``
(``playbook.de.toml``, ``help.en.toml``); a key is the domain and the TOML path, joined by dots
(``playbook.ev_charging.title``). Later folders override earlier ones key by key, so a deployment can
add a language or reword one message without touching the code (``LUNA_I18N_DIR``).

A message is a ``str.format``-style template whose fields are formatted in the language's locale
(see ``render``), or a table of CLDR plural forms (``one``, ``other``...) chosen by the ``count``
parameter. English is the source language: a key missing in another language falls back to English
(a strict catalogue, as in the tests, raises instead), and a key missing in English is always an error.
"""

from __future__ import annotations

import re
import threading
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from importlib.abc import Traversable
from pathlib import Path
from typing import Any

import structlog
from babel import Locale, UnknownLocaleError

from luna_core.i18n.render import MessageError, render
from luna_core.i18n.translator import Translator

SOURCE_LANGUAGE = "en"
PLURAL_FORMS = frozenset({"zero", "one", "two", "few", "many", "other"})
FILE_NAME = re.compile(r"^(?P<domain>[a-z][a-z0-9_]*)\.(?P<lang>[a-z]{2,3}(?:_[A-Za-z0-9]{2,8})?)\.toml$")
LOCALE_KEY = "common.meta.locale"

log = structlog.get_logger(__name__)

Folder = Path | Traversable
Template = str | dict[str, str]


class MissingMessage(LookupError):
    """A key the catalogue does not have (in the language asked for, or in English)."""

    def __init__(self, key: str, language: str, languages: Iterable[str]) -> None:
        self.key, self.language = key, language
        super().__init__(
            f"no message {key!r} in language {language!r} (the catalogue has: "
            f"{', '.join(sorted(languages)) or 'none'}); add it to {key.split('.', 1)[0]}.{language}.toml"
        )

    def __str__(self) -> str:  # LookupError would print the repr of the argument
        return str(self.args[0])


def _is_plural(value: Mapping[str, Any]) -> bool:
    return "other" in value and set(value) <= PLURAL_FORMS and all(isinstance(v, str) for v in value.values())


def _flatten(prefix: str, table: Mapping[str, Any], into: dict[str, Template], source: str) -> None:
    for name, value in table.items():
        key = f"{prefix}.{name}"
        if isinstance(value, str):
            into[key] = value
        elif isinstance(value, dict) and _is_plural(value):
            into[key] = dict(value)
        elif isinstance(value, dict):
            _flatten(key, value, into, source)
        else:
            raise MessageError(f"{source}: {key} must be text or a table of plural forms, got {type(value).__name__}")


class Catalogue:
    """The messages of all languages found in ``folders`` (later folders win)."""

    def __init__(self, folders: Sequence[Folder], *, strict: bool = False) -> None:
        self.folders = tuple(folders)
        self.strict = strict
        self._messages: dict[str, dict[str, Template]] | None = None
        self._locales: dict[str, Locale] = {}
        self._lock = threading.Lock()
        self._warned: set[tuple[str, str]] = set()

    def _files(self) -> Iterable[tuple[str, str, Folder]]:
        for folder in self.folders:
            if isinstance(folder, Path) and not folder.is_dir():
                raise MessageError(f"message catalogue folder {folder} does not exist")
            for entry in sorted(folder.iterdir(), key=lambda e: e.name):
                found = FILE_NAME.match(entry.name)
                if found and entry.is_file():
                    yield found["domain"], found["lang"], entry

    def _load(self) -> dict[str, dict[str, Template]]:
        if self._messages is not None:
            return self._messages
        with self._lock:
            if self._messages is None:
                loaded: dict[str, dict[str, Template]] = {}
                for domain, language, entry in self._files():
                    try:
                        table = tomllib.loads(entry.read_text(encoding="utf-8"))
                    except tomllib.TOMLDecodeError as error:
                        raise MessageError(f"{entry}: not valid TOML: {error}") from None
                    _flatten(domain, table, loaded.setdefault(language, {}), str(entry))
                self._messages = loaded
            return self._messages

    def languages(self) -> tuple[str, ...]:
        return tuple(sorted(self._load()))

    def keys(self, language: str) -> frozenset[str]:
        return frozenset(self._load().get(language, {}))

    def template(self, key: str, language: str) -> Template:
        messages = self._load()
        found = messages.get(language, {}).get(key)
        if found is not None:
            return found
        if language != SOURCE_LANGUAGE:
            if self.strict:
                raise MissingMessage(key, language, messages)
            source = messages.get(SOURCE_LANGUAGE, {}).get(key)
            if source is not None:
                if (key, language) not in self._warned:
                    self._warned.add((key, language))
                    log.warning("i18n.fallback", key=key, language=language, fallback=SOURCE_LANGUAGE)
                return source
        raise MissingMessage(key, SOURCE_LANGUAGE, messages)

    def locale(self, language: str) -> Locale:
        """The CLDR locale numbers and dates are written in: ``common.meta.locale`` of the language's
        catalogue (``de_DE``), else the language code itself."""
        found = self._locales.get(language)
        if found is None:
            declared = self._load().get(language, {}).get(LOCALE_KEY)
            name = declared if isinstance(declared, str) else language
            try:
                found = Locale.parse(name)
            except (UnknownLocaleError, ValueError):
                found = Locale.parse(SOURCE_LANGUAGE)
            self._locales[language] = found
        return found

    def translate(self, key: str, language: str, /, **params: Any) -> str:
        template = self.template(key, language)
        locale = self.locale(language)
        if isinstance(template, dict):
            count = params.get("count")
            if not isinstance(count, int | float):
                raise MessageError(f"message {key!r} has plural forms and needs a number 'count'")
            template = template.get(locale.plural_form(abs(count)), template["other"])
        # Strip: an empty trailing part (a plan without notes) leaves no dangling space.
        return render(template, key, locale, params, lambda k, p: self.translate(k, language, **p), language).strip()

    def translator(self, language: str) -> Translator:
        return Translator(self, language)
