"""What a file really is, before any parser sees it: the name's extension against the content's
magic bytes, password-protected Office files, and zip bombs (a DOCX is a zip: every entry is
inflated with a cap before Tika may unpack it)."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import PurePath

from luna_core.knowledge.errors import DocumentRejected, TooLarge

KINDS_BY_EXTENSION = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".html": "html",
    ".htm": "html",
}
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "markdown": "text/markdown",
    "text": "text/plain",
    "html": "text/html",
}
_DESCRIBED = {
    "pdf": "a PDF",
    "docx": "a Word document (DOCX)",
    "html": "an HTML page",
    "text": "plain text",
    "zip": "a zip archive",
    "ole2": "a legacy Office file (DOC/XLS)",
    "binary": "binary data",
}
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTION_INFO = "EncryptionInfo".encode("utf-16-le")
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*(<!doctype\s+html|<html[\s>])", re.IGNORECASE | re.DOTALL)
_MAX_ENTRIES = 10_000
_READ = 1 << 20


def kind_from_name(filename: str) -> str:
    suffix = PurePath(filename).suffix.lower()
    if suffix not in KINDS_BY_EXTENSION:
        allowed = ", ".join(sorted(KINDS_BY_EXTENSION))
        raise DocumentRejected("unsupported_type", f"{filename!r}: unsupported file type; upload one of {allowed}")
    return KINDS_BY_EXTENSION[suffix]


def sniff(data: bytes) -> str:
    """pdf | docx | zip | ole2 | encrypted_office | html | text | binary, from the content alone."""
    head = data[:1024]
    if b"%PDF-" in head:  # the spec allows junk before the header within the first KB
        return "pdf"
    if data[:4] == b"PK\x03\x04":
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except zipfile.BadZipFile:
            return "zip"
        return "docx" if "word/document.xml" in names else "zip"
    if data[:8] == _OLE2:
        # Password-protected DOCX files are OLE2 containers holding an EncryptionInfo stream.
        return "encrypted_office" if _ENCRYPTION_INFO in data else "ole2"
    sample = data[:8192]
    if b"\x00" in sample and not sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "binary"
    if _HTML_START.match(sample.lstrip(b"\xef\xbb\xbf")):
        return "html"
    controls = sum(1 for byte in sample if byte < 32 and byte not in (9, 10, 12, 13))
    return "binary" if sample and controls / len(sample) > 0.05 else "text"


def check(filename: str, data: bytes, *, max_bytes: int, max_unpacked_bytes: int, max_ratio: float) -> str:
    """The file's kind, or a ``DocumentRejected`` that says what is wrong with it."""
    declared = kind_from_name(filename)
    if len(data) > max_bytes:
        raise TooLarge(f"{filename!r} is {len(data) / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.1f} MB")
    if not data.strip():
        raise DocumentRejected("empty", f"{filename!r} is empty")
    actual = sniff(data)
    if actual == "encrypted_office":
        raise DocumentRejected(
            "encrypted", f"{filename!r} is password-protected; remove the password and upload it again"
        )
    compatible = {
        "pdf": {"pdf"},
        "docx": {"docx"},
        "html": {"html", "text"},
        "markdown": {"text", "html"},
        "text": {"text", "html"},
    }[declared]
    if actual not in compatible:
        raise DocumentRejected(
            "type_mismatch",
            f"{filename!r} is named as {_DESCRIBED.get(declared, declared)} but its content is "
            f"{_DESCRIBED.get(actual, actual)}; rename it or upload the right file",
        )
    if declared == "html" and actual == "text" and not re.search(rb"<[a-zA-Z][^>]*>", data[:65536]):
        raise DocumentRejected("type_mismatch", f"{filename!r} is named as an HTML page but contains no HTML")
    if actual == "docx":
        check_zip(filename, data, max_unpacked_bytes=max_unpacked_bytes, max_ratio=max_ratio)
    return declared


def check_zip(filename: str, data: bytes, *, max_unpacked_bytes: int, max_ratio: float) -> None:
    """Inflates every entry with a running cap: the sizes a zip declares can lie, the bytes cannot."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
        if len(entries) > _MAX_ENTRIES:
            raise _bomb(filename, f"{len(entries)} entries")
        total = 0
        for entry in entries:
            if entry.flag_bits & 0x1:
                raise DocumentRejected("encrypted", f"{filename!r} contains encrypted parts")
            inflated = 0
            with archive.open(entry) as stream:
                while block := stream.read(_READ):
                    inflated += len(block)
                    total += len(block)
                    if total > max_unpacked_bytes:
                        raise _bomb(filename, f"unpacks to more than {max_unpacked_bytes / 1e6:.0f} MB")
                    if inflated > _READ and inflated / max(entry.compress_size, 1) > max_ratio:
                        raise _bomb(filename, f"{entry.filename} is compressed more than {max_ratio:.0f}:1")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError) as error:
        raise DocumentRejected("corrupt", f"{filename!r} is not a readable DOCX: {error}") from None


def _bomb(filename: str, why: str) -> DocumentRejected:
    return DocumentRejected("zip_bomb", f"{filename!r} refused as a possible zip bomb: {why}")
