"""The Tika server path (``LUNA_TIKA_URL``): the real ``tika`` client over real HTTP.

No Tika server can run here (no registry ships the server jar, and nothing may download one), so the
server is a stand-in started in the test: a small ``http.server`` on a free port that answers what the
client calls, ``PUT /rmeta/xml`` (``Accept: application/json``), the way Tika server's recursive
metadata resource does: a JSON list with one object per document, the container first and then each
embedded resource (a DOCX's thumbnail, for one), each with its metadata (single values as strings,
repeated ones as lists) and its XHTML in ``X-TIKA:content``. The XHTML and metadata are genuine:
the stand-in runs the embedded native Apache Tika (``iscc-tika``) on the uploaded bytes, and on each
embedded resource it finds in a zip container. Anything else it is asked is answered 404, and any
request that is not ``PUT /rmeta/xml`` fails the test, so a client that tried to check for, download
or start a server jar would show.
"""

from __future__ import annotations

import io
import json
import os
import re
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import iscc_tika
import pytest
from tika import tika as tika_client

from luna_core.knowledge.chunking import chunk_blocks
from luna_core.knowledge.embeddings import E5Embedder
from luna_core.knowledge.errors import DocumentRejected
from luna_core.knowledge.extract import MAX_CHARS, NativeTika, TikaServer, backend_for, extract
from tests import documents as make

_EMBEDDED = re.compile(r'<div class="embedded" id="([^"]+)"')


def _native(data: bytes) -> tuple[str, dict[str, list[str]]]:
    extractor = iscc_tika.Extractor().set_extract_string_max_length(MAX_CHARS).set_xml_output(True)
    with NativeTika._lock:
        return extractor.extract_bytes_to_string(bytearray(data))


def _entry(xhtml: str, metadata: dict[str, list[str]], **extra: str) -> dict:
    flat = {key: values[0] if len(values) == 1 else values for key, values in metadata.items()}
    return {**flat, **extra, "X-TIKA:content": xhtml}


def _rmeta(data: bytes) -> list[dict]:
    xhtml, metadata = _native(data)
    entries = [_entry(xhtml, metadata)]
    if zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for resource in _EMBEDDED.findall(xhtml):
                name = resource.lstrip("/")
                if name in archive.namelist():
                    inner_xhtml, inner = _native(archive.read(name))
                    entries.append(_entry(inner_xhtml, inner, **{"X-TIKA:embedded_resource_path": resource}))
    return entries


class _TikaStandIn(BaseHTTPRequestHandler):
    calls: list[tuple[str, str, str]]

    def do_PUT(self) -> None:
        self.calls.append(("PUT", self.path, self.headers.get("Accept", "")))
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != "/rmeta/xml":
            self._send(404, b"not found", "text/plain")
            return
        try:
            entries = _rmeta(body)
        except Exception as error:  # what Tika server answers when a parser throws
            self._send(422, str(error).encode(), "text/plain")
            return
        self._send(200, json.dumps(entries).encode("utf-8"), "application/json")

    def do_GET(self) -> None:
        self.calls.append(("GET", self.path, self.headers.get("Accept", "")))
        self._send(404, b"not found", "text/plain")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def tika_server() -> Iterator[tuple[str, list]]:
    calls: list[tuple[str, str, str]] = []
    handler = type("Handler", (_TikaStandIn,), {"calls": calls})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", calls
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def count_tokens():
    return E5Embedder().count_tokens


def _summary(extracted, count_tokens) -> tuple:
    chunks = chunk_blocks(extracted.blocks, count_tokens, max_tokens=48, overlap_tokens=8)
    figures = (extracted.title, extracted.author, extracted.pages, extracted.language, extracted.content_type)
    return figures, [(c.position, c.heading, c.page, c.text) for c in chunks]


@pytest.mark.parametrize(
    ("kind", "filename", "data", "title", "author", "language"),
    [
        ("pdf", "ratgeber.pdf", make.pdf_bytes(), "Wärmepumpen-Ratgeber", "Jörg Müller", "de"),
        ("docx", "tarife.docx", make.docx_bytes(), "Tariff guide", "Anna Schmidt", "en"),
    ],
)
def test_server_path_extracts_what_the_embedded_path_does(
    tika_server, count_tokens, kind, filename, data, title, author, language
):
    url, calls = tika_server
    calls.clear()
    server = backend_for(url)
    assert isinstance(server, TikaServer)
    through_server = extract(server, data, kind, filename)
    embedded = extract(NativeTika(), data, kind, filename)

    assert calls == [("PUT", "/rmeta/xml", "application/json")]  # nothing else: no jar check, no download
    assert tika_client.TikaClientOnly and os.environ["TIKA_CLIENT_ONLY"] == "1"
    figures, chunks = _summary(through_server, count_tokens)
    assert (figures, chunks) == _summary(embedded, count_tokens)
    assert figures[:4] == (title, author, 2 if kind == "pdf" else 1, language)
    assert len(chunks) > 1
    if kind == "pdf":
        assert {c[2] for c in chunks} == {1, 2} and any("Spitzenlast" in c[3] for c in chunks)
    else:
        assert chunks[0][1] == "Dynamic tariffs" and "Peak shaving" in {c[1] for c in chunks}


def test_docx_with_an_embedded_thumbnail_reads_only_the_container(tika_server):
    """Tika server lists embedded resources after the container; their XHTML is not the document's."""
    url, _ = tika_server
    data = make.docx_bytes()
    entries = _rmeta(data)
    # the python-docx template carries /docProps/thumbnail.jpeg
    assert len(entries) > 1 and entries[1]["X-TIKA:embedded_resource_path"].endswith("thumbnail.jpeg")
    extracted = extract(backend_for(url), data, "docx", "tarife.docx")
    assert extracted.content_type == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert [b.text for b in extracted.blocks if b.is_heading] == ["Dynamic tariffs", "Peak shaving"]


def test_a_file_the_server_cannot_parse_is_rejected_with_a_reason(tika_server):
    url, _ = tika_server
    with pytest.raises(DocumentRejected) as raised:
        extract(backend_for(url), make.pdf_bytes()[:200], "pdf", "broken.pdf")
    assert raised.value.code in ("unreadable", "no_text")
