"""German or English: which language a question is in.

Luna speaks exactly these two, and questions are short ("was ist unsere Spitzenlast?"), where
general detectors trained on 50+ languages are at their least reliable. Counting function words
and German spelling marks of each language is deterministic, instant and right on such questions;
ties go to English, the language of the product's UI default.
"""

from __future__ import annotations

import re
from typing import Literal

Language = Literal["de", "en"]
LANGUAGES: tuple[Language, ...] = ("de", "en")

_WORD = re.compile(r"[a-zäöüß]+")


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


GERMAN = _wordset(
    """
    der die das den dem des ein eine einen einem einer eines und oder aber nicht kein keine ist sind
    war waren wird werden wurde haben hat hatten habe ich du er sie es wir ihr mich mir uns unser unsere
    unseren unserem euer wie was wann wo warum wieso welche welcher welches wer wen wem viel viele
    wieviel mit für von vom zum zur bei beim im auf aus nach über unter vor seit bis noch schon
    auch nur sehr mehr heute gestern morgen letzte letzten letzter vorige vorigen woche monat jahr
    bitte kann können könnte muss müssen soll sollen gibt gib zeig zeige dass denn doch mal wenn dann
    diese dieser diesen dieses sich
    """
)
# Words both languages use (in, am, was, also, man...) are in neither list.

ENGLISH = _wordset(
    """
    the a an and or but not no is are were will would be been being have has had do does did i you
    he she it we they me us our ours your my what when where why which who whom how much many with for
    from of to at by on about into over under before after since until still already only very
    more today yesterday tomorrow last week month year please can could must should shall there this
    that these those show tell give if then than use used using
    """
)


def detect_language(text: str, default: Language = "en") -> Language:
    words = _WORD.findall(text.lower())
    german = sum(word in GERMAN for word in words) + 2 * sum(ch in "äöüß" for ch in text.lower())
    english = sum(word in ENGLISH for word in words)
    if german > english:
        return "de"
    if english > german:
        return "en"
    return default
