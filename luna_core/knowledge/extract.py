"""Text and metadata with Apache Tika: compiled native in-process (``iscc-tika``) by default, the
Tika server through the ``tika`` client when ``LUNA_TIKA_URL`` is set. Both return Tika's XHTML,
read here into blocks (headings and paragraphs, each with its page) for the chunker."""

from __future__ import annotations

import json
import os
import re
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any, Protocol

from luna_core.knowledge import furniture, language
from luna_core.knowledge.errors import DocumentRejected, ServiceUnavailable

MAX_CHARS = 20_000_000  # Tika stops writing beyond this many characters
_NS = "{http://www.w3.org/1999/xhtml}"
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_TEXT_TAGS = {"p", "li", "pre", "blockquote", "td", "th", "dd", "dt", "caption", "address"}
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_MD_TABLE_RULE = re.compile(r"\|?[\s:|-]+\|?")
_TERMINAL = (".", ",", ";", ":", "!", "?", "-")


@dataclass(frozen=True)
class Block:
    text: str
    page: int | None = None
    heading_level: int = 0  # 0 = paragraph, 1..6 = heading

    @property
    def is_heading(self) -> bool:
        return self.heading_level > 0


@dataclass
class Extracted:
    blocks: list[Block]
    content_type: str
    title: str | None = None
    author: str | None = None
    pages: int | None = None
    language: str = "en"
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n\n".join(block.text for block in self.blocks)


class TikaBackend(Protocol):
    name: str

    def xhtml(self, data: bytes) -> tuple[str, dict[str, Any]]: ...


class NativeTika:
    """Apache Tika compiled to native code, in this process (no JVM, no server)."""

    name = "iscc-tika"
    _lock = threading.Lock()

    def xhtml(self, data: bytes) -> tuple[str, dict[str, Any]]:
        import iscc_tika

        extractor = iscc_tika.Extractor().set_extract_string_max_length(MAX_CHARS).set_xml_output(True)
        try:
            with self._lock:  # one native isolate: calls are serialised
                return extractor.extract_bytes_to_string(bytearray(data))
        except Exception as error:  # Tika's Java exceptions arrive as plain Exceptions
            raise DocumentRejected("unreadable", f"Tika could not read the file: {_first_line(error)}") from None


class TikaServer:
    """An Apache Tika server (the ``apache/tika`` container) through the ``tika`` client."""

    name = "tika-server"

    def __init__(self, url: str, timeout: float = 120.0):
        self.url = url.rstrip("/")
        self.timeout = timeout

    def xhtml(self, data: bytes) -> tuple[str, dict[str, Any]]:
        import requests

        _client_only()
        from tika import parser

        try:
            status, body = parser.from_buffer(
                data,
                serverEndpoint=self.url,
                xmlContent=True,
                requestOptions={"timeout": self.timeout},
                raw_response=True,
            )
        except requests.RequestException as error:
            raise ServiceUnavailable(f"Tika server at {self.url} unreachable: {type(error).__name__}") from None
        if status in (502, 503, 504) or status is None:
            raise ServiceUnavailable(f"Tika server at {self.url} answered {status}")
        if status != 200:
            raise DocumentRejected("unreadable", f"Tika could not read the file (server status {status})")
        # /rmeta lists the container first, then every embedded resource (a DOCX's thumbnail, an
        # attachment) with its own XHTML document: the client's own parse glues those together into
        # text that is no XML any more, so only the container is read here.
        try:
            container = json.loads(body)[0] if body else {}
        except (ValueError, IndexError, KeyError) as error:
            raise ServiceUnavailable(f"Tika server at {self.url} answered no metadata list: {error}") from None
        xhtml = container.pop("X-TIKA:content", "") or ""
        return xhtml, container


def _client_only() -> None:
    """The ``tika`` client checks for, downloads and starts a server jar unless told it is a client
    only; it reads that (and whether to write its own log file) from the environment on import."""
    os.environ.setdefault("TIKA_CLIENT_ONLY", "1")
    os.environ.setdefault("TIKA_LOG_FILE", "")  # log through ours, no /tmp/tika.log
    from tika import tika as tika_module

    tika_module.TikaClientOnly = True  # also when it was imported before the environment was set


def backend_for(tika_url: str | None) -> TikaBackend:
    return TikaServer(tika_url) if tika_url else NativeTika()


def extract(backend: TikaBackend, data: bytes, kind: str, filename: str) -> Extracted:
    removed = 0
    if kind == "html":
        data, removed = furniture.clean_html(data)
    xhtml, metadata = backend.xhtml(data)
    body = _parse_xhtml(xhtml)
    if kind in ("markdown", "text"):
        blocks = _plain_blocks(_all_text(body), markdown=kind == "markdown")
    else:
        blocks = _xhtml_blocks(body, paged=kind == "pdf")
    encrypted = _first(metadata, "pdf:encrypted") == "true"
    if not any(block.text.strip() for block in blocks):
        if encrypted:
            raise DocumentRejected("encrypted", f"{filename!r} is password-protected; no text can be read")
        what = "a scanned or empty PDF (no text layer; OCR is not enabled)" if kind == "pdf" else "empty"
        raise DocumentRejected("no_text", f"{filename!r} has no extractable text: {what}")
    pages = _int(_first(metadata, "xmpTPg:NPages") or _first(metadata, "meta:page-count"))
    if kind == "pdf" and pages is None:
        pages = max((block.page or 1) for block in blocks)
    text = " ".join(block.text for block in blocks[:200])
    return Extracted(
        blocks=blocks,
        content_type=str(_first(metadata, "Content-Type") or "").split(";")[0] or "application/octet-stream",
        title=_clean(_first(metadata, "dc:title") or _first(metadata, "title")),
        author=_clean(_first(metadata, "dc:creator") or _first(metadata, "meta:author") or _first(metadata, "author")),
        pages=pages,
        language=str(_first(metadata, "language") or "")[:2] or language.detect(text),
        metadata={key: value for key, value in metadata.items() if not key.startswith("X-TIKA")}
        | ({"luna:furniture_removed": removed} if removed else {}),
    )


def _parse_xhtml(xhtml: str) -> ET.Element:
    if not xhtml.strip():  # Tika writes nothing for a PDF it cannot decrypt
        return ET.Element("body")
    try:
        root = ET.fromstring(xhtml)
    except ET.ParseError as error:
        raise DocumentRejected("unreadable", f"Tika returned unreadable output: {error}") from None
    body = root.find(f"{_NS}body")
    return body if body is not None else root


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _all_text(element: ET.Element) -> str:
    return "".join(element.itertext())


def _xhtml_blocks(body: ET.Element, paged: bool) -> list[Block]:
    blocks: list[Block] = []
    page = 1 if paged else None
    pages_seen = 0
    running = furniture.repeated_edge_lines(_page_lines(body)) if paged else set()

    def paragraph(raw: str) -> list[Block]:
        return _paragraph(raw, page, paged, running)

    def visit(element: ET.Element) -> None:
        nonlocal page, pages_seen
        for child in element:
            tag = _local(child.tag)
            classes = child.get("class")
            if furniture.is_contents_style(classes) or (tag == "div" and classes in ("header", "footer")):
                pass  # a DOCX's contents paragraphs and page headers/footers: furniture
            elif tag == "div" and "page" in (classes or "").split():
                pages_seen += 1
                page = pages_seen
                visit(child)
            elif tag in _HEADINGS:
                text = _squash(_all_text(child))
                if text:
                    blocks.append(Block(text, page, _HEADINGS[tag]))
            elif tag == "tr":  # a table row is one block, read as a sentence (a quote quotes it whole)
                cells = [_squash(_all_text(cell)) for cell in child if _local(cell.tag) in ("td", "th")]
                row = _row_sentence([cell for cell in cells if cell])
                if row:
                    blocks.append(Block(row, page))
            elif tag in _TEXT_TAGS:
                blocks.extend(paragraph(_all_text(child)))
            else:
                if child.text and child.text.strip() and tag not in ("script", "style", "title", "head"):
                    blocks.extend(paragraph(child.text))
                visit(child)
            if child.tail and child.tail.strip():
                blocks.extend(paragraph(child.tail))

    visit(body)
    return blocks


def _page_lines(body: ET.Element) -> list[list[str]]:
    pages = [child for child in body.iter() if _local(child.tag) == "div" and child.get("class") == "page"]
    return [[line.strip() for line in _all_text(page).splitlines() if line.strip()] for page in pages]


def _paragraph(raw: str, page: int | None, paged: bool, running: set[str] = frozenset()) -> list[Block]:
    lines = [
        line.strip()
        for line in raw.splitlines()
        if line.strip() and not furniture.is_contents_line(line) and furniture.normalise(line) not in running
    ]
    if not lines:
        return []
    # PDFs carry no heading markup; a short first line without closing punctuation that is much
    # shorter than the lines after it is taken as a heading (a heuristic, so kept strict).
    if paged and len(lines) > 1 and _looks_like_heading(lines[0], lines[1:]):
        return [Block(lines[0], page, 2), Block(_squash(" ".join(lines[1:])), page)]
    return [Block(_squash(" ".join(lines)), page)]


def _looks_like_heading(line: str, rest: list[str]) -> bool:
    longest = max(len(other) for other in rest)
    return (
        len(line) <= 80
        and not line.endswith(_TERMINAL)
        and (line[0].isupper() or line[0].isdigit())
        and len(line) < 0.6 * longest
    )


def _plain_blocks(text: str, markdown: bool) -> list[Block]:
    blocks: list[Block] = []
    for part in re.split(r"\n\s*\n", text):
        lines = [line.rstrip() for line in part.strip().splitlines()]
        paragraph: list[str] = []
        previous_row = False
        for line in lines:
            match = _MD_HEADING.match(line.strip()) if markdown else None
            row = _table_row(line.strip()) if markdown else None
            if row == "" and paragraph and previous_row:
                paragraph.pop()  # the header above the rule names columns: no content of its own
            elif row:
                paragraph.append(row)
            previous_row = row is not None
            if row is not None:
                continue
            if match:
                if paragraph:
                    blocks.append(Block(_squash(" ".join(paragraph))))
                    paragraph = []
                blocks.append(Block(_squash(match.group(2)), None, len(match.group(1))))
            elif line.strip() and not furniture.is_contents_line(line):
                paragraph.append(line.strip())
        if paragraph:
            blocks.append(Block(_squash(" ".join(paragraph))))
    return blocks


def _table_row(line: str) -> str | None:
    """A Markdown table row as a sentence ("Grundpreis: 29,00 € pro Monat."), so a quoted answer
    reads as text and not as pipes; "" for the rule under the header; None for any other line."""
    if not (line.startswith("|") and line.endswith("|")):
        return None
    if _MD_TABLE_RULE.fullmatch(line):
        return ""
    return _row_sentence([cell.strip() for cell in line.strip("|").split("|") if cell.strip()])


def _row_sentence(cells: list[str]) -> str:
    """Table cells as one sentence, "first: second, third."; "" for a row without text."""
    if not cells:
        return ""
    sentence = f"{cells[0]}: {', '.join(cells[1:])}" if len(cells) > 1 else cells[0]
    return sentence.rstrip(".") + "."


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _first(metadata: dict[str, Any], key: str) -> Any:
    value = metadata.get(key)
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _clean(value: Any) -> str | None:
    text = _squash(str(value)) if value is not None else ""
    return text[:500] or None


def _int(value: Any) -> int | None:
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        return None


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
