"""Language of a passage or a question: German or English (the languages Luna answers in, and
the two PostgreSQL text-search configurations the lexical search stems with)."""

from __future__ import annotations

import threading
from functools import lru_cache

LANGUAGES = ("de", "en")
TS_CONFIG = {"de": "german", "en": "english"}
_lock = threading.Lock()


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    return identifier


def detect(text: str, default: str = "en") -> str:
    """'de' or 'en'; ``default`` when there is nothing to judge (no letters)."""
    if not any(ch.isalpha() for ch in text):
        return default
    with _lock:  # the identifier keeps scratch state per call
        language, _ = _identifier().classify(text[:4000])
    return language
