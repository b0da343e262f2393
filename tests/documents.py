"""Real document files made in the tests: a PDF with umlauts (fpdf2), a DOCX with headings
(python-docx), Markdown, TXT and HTML, and the broken ones (encrypted, scanned, zip bomb)."""

from __future__ import annotations

import io
import zipfile

GERMAN_PAGES = [
    (
        "Wärmepumpe im Winter",
        "Eine Wärmepumpe läuft am günstigsten, wenn der Strompreis niedrig ist. Nachts und am frühen "
        "Nachmittag fällt der Börsenpreis oft deutlich. Größere Pufferspeicher überbrücken teure Stunden.",
    ),
    (
        "Spitzenlast senken",
        "Die monatliche Spitzenlast bestimmt den Leistungspreis. Wer Ladevorgänge über den Tag verteilt, "
        "senkt die Spitze und spart Netzentgelte. Außerdem hilft ein Batteriespeicher.",
    ),
]


def pdf_bytes(pages=GERMAN_PAGES, title="Wärmepumpen-Ratgeber", author="Jörg Müller", encrypt=False) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title(title)
    pdf.set_author(author)
    family = "helvetica"  # a core font in cp1252: umlauts and ß need no font file
    for heading, body in pages:
        pdf.add_page()
        pdf.set_font(family, size=18)
        pdf.cell(0, 12, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(family, size=11)
        pdf.multi_cell(0, 6, body)
    if encrypt:
        pdf.set_encryption(owner_password="owner-secret", user_password="user-secret")
    return bytes(pdf.output())


def scanned_pdf_bytes() -> bytes:
    """A page with only a drawing: what a scan without a text layer looks like to a parser."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 150, 200, style="F")
    return bytes(pdf.output())


def docx_bytes(sections=None, title="Tariff guide", author="Anna Schmidt") -> bytes:
    import docx

    sections = sections or [
        ("Dynamic tariffs", "A dynamic tariff passes the hourly day-ahead price on to the customer."),
        ("Peak shaving", "A battery discharges when the site load is highest, which lowers the monthly peak."),
    ]
    document = docx.Document()
    document.core_properties.title = title
    document.core_properties.author = author
    for heading, body in sections:
        document.add_heading(heading, 1)
        document.add_paragraph(body)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def zip_bomb_docx(unpacked_mb: int = 300) -> bytes:
    """A valid-looking DOCX whose document.xml inflates to ``unpacked_mb`` MB of spaces."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as entry:
            block = b" " * (1 << 20)
            for _ in range(unpacked_mb):
                entry.write(block)
    return buffer.getvalue()


MARKDOWN = """# Einspeisevergütung

Für Strom aus der Photovoltaikanlage, der ins Netz fließt, gibt es eine feste Vergütung pro Kilowattstunde.

## Eigenverbrauch

Selbst verbrauchter Solarstrom ist meist mehr wert als die Vergütung, weil er teuren Netzbezug ersetzt.
"""

TEXT = """Standby consumption

Devices on standby draw power around the clock. A smart plug that switches them off at night saves
a noticeable share of the base load.
"""

HTML = """<!DOCTYPE html>
<html><head><title>EV charging at home</title><meta name="author" content="Luna Team"></head>
<body><h1>EV charging at home</h1>
<p>Charging an electric car overnight uses the cheapest hours of the day-ahead market.</p>
<h2>Wallbox</h2><p>A wallbox with load management keeps the house connection below its limit.</p>
</body></html>
"""


def add_document(engine, settings, tenant_id: str, filename: str, data: bytes):
    """Stores a file and its queued row through the upload route's core function (without HTTP)."""
    from luna_core.knowledge.uploads import submit_document

    return submit_document(engine, settings, tenant_id, filename, data, request_processing=False).document.id


def status_of(engine, tenant_id: str, document_id):
    from luna_core.db.tenancy import tenant_scope
    from luna_core.knowledge import store

    with tenant_scope(engine, tenant_id) as connection:
        return store.get(connection, tenant_id, document_id)
