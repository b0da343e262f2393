"""Page furniture is not content: real HTML, PDF (fpdf2) and DOCX (python-docx) files made here, read
by the real Tika, then chunked. Navigation, running headers and footers, contents lists and
breadcrumbs leave no text in any chunk; footnotes get a chunk of their own, so a German section
followed by English footnotes stays German."""

from __future__ import annotations

import io

import pytest

from luna_core.knowledge import chunking, extract, furniture

BODY_DE = (
    "Der Wechselrichter zeigt den Fehler E23, wenn die Isolation der Gleichstromleitungen gestört ist. "
    "Berühren Sie die Gleichstromkabel nicht und rufen Sie den Installateur an."
)
BODY_EN = "The battery charges when the day-ahead price is in the cheapest quarter of the day and the sun is low."


@pytest.fixture(scope="module")
def tika():
    return extract.NativeTika()


def _chunks(extracted: extract.Extracted) -> list[chunking.Chunk]:
    return chunking.chunk_blocks(extracted.blocks, lambda text: len(text.split()) + 2, 200, 0)


def _all_text(chunks: list[chunking.Chunk]) -> str:
    return "\n".join(f"{c.heading or ''}\n{c.text}" for c in chunks)


def test_html_navigation_headers_contents_and_breadcrumbs_are_dropped_and_footnotes_stand_alone(tika):
    page = f"""<!DOCTYPE html><html lang="de"><head><title>Handbuch</title></head><body>
    <header class="site-header"><a href="/">ACME Startseite</a></header>
    <nav><ul><li><a href="a.html">Kapitel Eins Navigation</a></li><li><a href="b.html">Kapitel Zwei</a></li></ul></nav>
    <div class="navheader"><table><tr><td>Zurück zum Anfang</td><td>Weiter im Text</td></tr></table></div>
    <ol class="breadcrumb"><li>Start</li><li>Handbuch</li></ol>
    <div class="toc"><p>Inhaltsverzeichnis</p><dl><dt>1. Fehlercodes</dt><dt>2. Speicher</dt></dl></div>
    <main><article><header><h1>Fehlercodes</h1></header>
    <p>{BODY_DE}<sup>[<a id="ref1" href="#ftn1" class="footnote">1</a>]</sup> Danach prüft er die Isolation
    erneut.</p></article></main>
    <aside>Werbung für das Premium-Abo</aside>
    <div class="footnotes"><div id="ftn1" class="footnote"><p>[1] See the English installation guide,
    section seven, for the insulation measurement procedure.</p></div></div>
    <footer>Impressum Datenschutz Kontakt</footer>
    </body></html>""".encode()
    extracted = extract.extract(tika, page, "html", "handbuch.html")
    chunks = _chunks(extracted)
    text = _all_text(chunks)
    for furniture_text in (
        "Startseite",
        "Navigation",
        "Zurück",
        "Handbuch</",
        "Inhaltsverzeichnis",
        "Werbung",
        "Impressum",
        "Kapitel Zwei",
    ):
        assert furniture_text not in text
    assert "Fehlercodes" in text and "Installateur an" in text
    assert extracted.metadata["luna:furniture_removed"] >= 7
    section = next(c for c in chunks if "E23" in c.text)
    footnotes = next(c for c in chunks if "insulation measurement" in c.text)
    assert section is not footnotes and "insulation" not in section.text
    # The reference in the text (DocBook's <a class="footnote">) is no block: the paragraph stays whole.
    assert "Danach prüft er" in section.text and section.heading == "Fehlercodes"
    assert (section.language, footnotes.language) == ("de", "en")
    assert footnotes.heading == "Fußnoten"


def test_pdf_running_headers_footers_and_page_numbers_are_dropped(tika):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(False)
    bodies = [
        BODY_EN,
        "Peak shaving lowers the monthly demand charge by spreading charging sessions.",
        "A heat pump runs cheapest at night when the exchange price falls.",
        BODY_EN.replace("battery", "car"),
    ]
    for number, body in enumerate(bodies, start=1):
        pdf.add_page()
        pdf.set_font("helvetica", size=9)
        pdf.cell(0, 6, "ACME Energy Manual - Edition 2026", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", size=11)
        pdf.multi_cell(0, 6, body)
        pdf.set_y(270)
        pdf.set_font("helvetica", size=9)
        pdf.cell(0, 6, f"Page {number} of {len(bodies)}")
    extracted = extract.extract(tika, bytes(pdf.output()), "pdf", "manual.pdf")
    text = _all_text(_chunks(extracted))
    assert "ACME Energy Manual" not in text and "of 4" not in text
    assert "demand charge" in text and "heat pump runs cheapest" in text
    assert [b.page for b in extracted.blocks if "exchange price" in b.text] == [3]


def test_docx_contents_and_contents_lines_are_dropped(tika):
    from docx import Document

    document = Document()
    document.sections[0].header.paragraphs[0].text = "ACME Solar GmbH confidential header"
    document.add_paragraph("Contents", style="TOC Heading")
    document.add_paragraph("1 Safety ........................ 2")
    document.add_paragraph("2 Error codes ................... 5")
    document.add_heading("Safety", 1)
    document.add_paragraph("Do not touch the DC cables; call the installer.")
    buffer = io.BytesIO()
    document.save(buffer)
    extracted = extract.extract(tika, buffer.getvalue(), "docx", "manual.docx")
    text = _all_text(_chunks(extracted))
    assert "Contents" not in text and "Error codes" not in text and "confidential header" not in text
    assert "Do not touch the DC cables" in text


def test_what_counts_as_furniture():
    assert furniture.is_contents_line("3.2 Sicherheit . . . . . . . . 14")
    assert not furniture.is_contents_line("Call the installer at 0800 123 456.")
    assert furniture.is_furniture_name("navfooter") and furniture.is_furniture_name("site-footer toc")
    assert not furniture.is_furniture_name("content warning")
    words = ["battery", "heat pump", "tariff", "inverter", "meter"]
    pages = [["Manual v2", f"about the {word}", f"Page {i}"] for i, word in enumerate(words, start=1)]
    assert furniture.repeated_edge_lines(pages) == {"manual v#", "page #"}
    # Two pages are not enough to tell a running header from a repeated line.
    assert furniture.repeated_edge_lines(pages[:2]) == set()


def test_a_page_in_latin_1_that_declares_it_keeps_its_umlauts(tika):
    page = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"></head><body>'
        "<nav>Menü</nav><h1>Größe</h1><p>Die Wärmepumpe läuft günstig, wenn der Börsenpreis fällt.</p></body></html>"
    ).encode("latin-1")
    chunks = _chunks(extract.extract(tika, page, "html", "seite.html"))
    assert [(c.heading, c.text) for c in chunks] == [
        ("Größe", "Die Wärmepumpe läuft günstig, wenn der Börsenpreis fällt.")
    ]
