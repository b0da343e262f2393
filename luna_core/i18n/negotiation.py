"""Which of the catalogue's languages a reader gets: an explicit choice, else the best match of the
HTTP ``Accept-Language`` header (RFC 9110: ``de-AT, de;q=0.9, en;q=0.5``), else English."""

from __future__ import annotations

from collections.abc import Sequence

from luna_core.i18n.catalogue import SOURCE_LANGUAGE

MAX_HEADER_ITEMS = 32  # a header is a short list; more is noise (or an attack on the parser)


def preferences(header: str | None) -> list[str]:
    """The header's language ranges, best first (equal weights keep their order), lower-case, ``*`` and
    ``q=0`` dropped."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")[:MAX_HEADER_ITEMS]):
        tag, *options = (p.strip() for p in part.split(";"))
        weight = 1.0
        for option in options:
            name, _, value = option.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if tag and tag != "*" and weight > 0:
            ranked.append((-weight, position, tag.lower().replace("_", "-")))
    return [tag for _, _, tag in sorted(ranked)]


def negotiate(header: str | None, available: Sequence[str], default: str = SOURCE_LANGUAGE) -> str:
    """The first preferred language the catalogue has: an exact match (``pt-br`` for ``pt_BR``) or
    the primary language of the range (``de`` for ``de-AT``)."""
    by_tag = {language.lower().replace("_", "-"): language for language in available}
    for tag in preferences(header):
        if tag in by_tag:
            return by_tag[tag]
        primary = tag.split("-", 1)[0]
        if primary in by_tag:
            return by_tag[primary]
    return default if default in available or not available else available[0]
