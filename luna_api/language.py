"""The reader's language for texts the server writes (recommendations, strategies, help, the optimiser's
reasons): ``?language=`` when given (a language of the catalogues, else 422), otherwise the best match
of the ``Accept-Language`` header, otherwise English. Texts are rendered at read time, so one stored
recommendation reads in every language the catalogues have."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Query, Request

from luna_api.errors import ApiError
from luna_core.i18n import Catalogue, Translator, negotiate


def catalogue(request: Request) -> Catalogue:
    return request.app.state.catalogue


def reader_language(
    request: Request,
    language: Annotated[
        str | None,
        Query(max_length=35, description="language of the texts (de, en, ...); default: from Accept-Language"),
    ] = None,
    accept_language: Annotated[
        str | None, Header(description="RFC 9110 language preferences, e.g. de-DE, de;q=0.9, en;q=0.5")
    ] = None,
) -> Translator:
    found = catalogue(request)
    available = found.languages()
    if language is not None:
        if language not in available:
            raise ApiError(422, f"language must be one of {', '.join(available)}, got {language!r}")
        return found.translator(language)
    return found.translator(negotiate(accept_language, available))


Texts = Annotated[Translator, Depends(reader_language)]
