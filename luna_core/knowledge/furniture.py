"""Page furniture: what a document repeats around its content (navigation, running headers and
footers, contents lists, breadcrumbs) and what no question is ever about. Indexed, it wins
search slots and citations for every query that shares a word with a chapter title, so it is
removed before the chunker sees the text.

* HTML (before Tika reads it, with lxml): ``nav``/``header``/``footer``/``aside`` elements, ARIA
  navigation/banner/contentinfo landmarks, and elements whose class or id names them (``toc``,
  ``breadcrumb``, DocBook's ``navheader``/``navfooter``, ...). Footnotes get a heading of their own,
  so they become their own chunk instead of being glued to the chapter's last section.
* DOCX (in Tika's XHTML): paragraphs in a contents style (``toc 1``, ``TOC Heading``) and the page
  header/footer blocks.
* PDF (in Tika's XHTML): lines at the top or bottom of a page that recur on many pages (page
  numbers folded, so "Page 3 of 9" is one line).
* Every format: contents lines ("3.2 Safety ........ 14").
"""

from __future__ import annotations

import re

_FURNITURE_TAGS = ("nav", "header", "footer", "aside", "menu", "script", "style", "noscript", "template")
_CONTENT_TAGS = ("article", "main", "section")
_FURNITURE_ROLES = {"navigation", "banner", "contentinfo", "doc-toc", "search", "menu", "menubar"}
_FURNITURE_NAME = re.compile(
    r"^(toc|tocs|table-?of-?contents|contents|list-of-\w+|breadcrumbs?|crumbs|nav\w*|\w*-nav|\w*navbar\w*|menu\w*"
    r"|sidebar\w*|site-?(header|footer)|page-?(header|footer)|header|footer|masthead|skip-?\w*|cookie\w*)$",
    re.IGNORECASE,
)
_FOOTNOTE_NAME = re.compile(r"^(footnotes|endnotes|doc-(foot|end)notes)$", re.IGNORECASE)
"""The block holding a page's notes; a single note's reference in the text (DocBook's ``<a
class="footnote">``) is no block and stays where it is."""
_BLOCK_TAGS = ("div", "section", "aside", "footer", "ol", "ul", "dl")
_CONTENTS_LINE = re.compile(r"(\.\s?){4,}\s*\d+\s*$|\t\d+\s*$")
_DIGITS = re.compile(r"\d+")
_EDGE_LINES = 2
"""Lines at the top and at the bottom of a page that may be running headers or footers."""


def is_furniture_name(value: str | None) -> bool:
    """Whether a class/id attribute names furniture (any of its space-separated tokens)."""
    return any(_FURNITURE_NAME.match(token) for token in (value or "").split())


def is_contents_style(value: str | None) -> bool:
    """Tika writes a DOCX paragraph's style as its class: ``toc_1``, ``tOC_Heading``."""
    return any(token.lower().startswith("toc") for token in (value or "").split())


def is_contents_line(text: str) -> bool:
    return bool(_CONTENTS_LINE.search(text))


def clean_html(data: bytes) -> tuple[bytes, int]:
    """The page without its furniture, and how many elements were removed. Unparseable markup
    is returned as it came (Tika reads it as before)."""
    import lxml.etree
    import lxml.html

    try:
        data.decode("utf-8")
        parser = lxml.html.HTMLParser(encoding="utf-8")  # lxml would guess Latin-1 without a <meta charset>
    except UnicodeDecodeError:
        parser = None  # the page's declared charset, else lxml's guess
    try:
        root = lxml.html.document_fromstring(data, parser=parser)
    except (lxml.etree.ParserError, ValueError):
        return data, 0
    dropped: set = set()
    german = str(root.xpath("string((//@lang)[1])")).lower().startswith("de")
    for element in list(root.iter(lxml.etree.Element)):
        if element.getparent() is None or any(parent in dropped for parent in element.iterancestors()):
            continue
        names = f"{element.get('class') or ''} {element.get('id') or ''} {element.get('role') or ''}"
        if element.tag in _BLOCK_TAGS and any(_FOOTNOTE_NAME.match(token) for token in names.split()):
            heading = lxml.html.Element("h2")
            heading.text = "Fußnoten" if german else "Footnotes"
            element.insert(0, heading)
            element.set("class", "luna-footnotes")  # kept, never matched as furniture below
            continue
        if _inside_footnotes(element):
            continue
        if _is_furniture(element):
            dropped.add(element)
    for element in dropped:
        element.drop_tree()
    _declare_utf8(root)
    return lxml.html.tostring(root, encoding="utf-8", doctype="<!DOCTYPE html>"), len(dropped)


def _declare_utf8(root) -> None:
    """The page is written back as UTF-8: it must say so, whatever charset it declared before."""
    import lxml.html

    for meta in root.xpath("//meta[@charset] | //meta[translate(@http-equiv, 'CONTENYP', 'contenyp')='content-type']"):
        meta.drop_tree()
    head = root.find("head")
    if head is None:
        head = lxml.html.Element("head")
        root.insert(0, head)
    head.insert(0, lxml.html.Element("meta", charset="utf-8"))


def _is_furniture(element) -> bool:
    tag = element.tag
    if tag in ("header", "footer") and any(parent.tag in _CONTENT_TAGS for parent in element.iterancestors()):
        return False  # an article's own header holds its title: content
    return (
        tag in _FURNITURE_TAGS
        or (element.get("role") or "").lower() in _FURNITURE_ROLES
        or is_furniture_name(element.get("class"))
        or is_furniture_name(element.get("id"))
    )


def _inside_footnotes(element) -> bool:
    return any(parent.get("class") == "luna-footnotes" for parent in element.iterancestors())


def normalise(line: str) -> str:
    return _DIGITS.sub("#", " ".join(line.split()).lower())


def repeated_edge_lines(pages: list[list[str]]) -> set[str]:
    """Normalised lines that stand at a page's top or bottom on at least 3 pages and a third of
    them: running headers, footers, page numbers. Only the page edges count, so a warning
    repeated in the body of several sections stays."""
    if len(pages) < 3:
        return set()
    seen: dict[str, int] = {}
    for lines in pages:
        edges = {normalise(line) for line in lines[:_EDGE_LINES] + lines[-_EDGE_LINES:]}
        for line in edges:
            seen[line] = seen.get(line, 0) + 1
    needed = max(3, len(pages) / 3)
    return {line for line, count in seen.items() if count >= needed and line}
