"""Issue 18: scanned PDFs and images of text go through Tesseract OCR (Debian's
tesseract-ocr + tesseract-ocr-eng, poppler-utils' pdftoppm; tests/run.sh
installs them). Without them the files and pages are skipped with a reason
that says how to enable OCR, the refusal names them, and installing Tesseract
makes the next `rag index` read them. The scan is made here: text rendered to
an image and saved as a PDF with no text layer."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from officekit import make_png, make_scan_pdf, make_text_pdf, render_text_image

from rag import Citation, Settings, ask, build_index
from rag.ingest.loading import document_text, load_corpus, read_source
from ui.viewer import heading_for, source_view_html

REPO = Path(__file__).resolve().parent.parent
INSTALL = "apt-get install tesseract-ocr tesseract-ocr-eng"


@pytest.fixture(autouse=True)
def tesseract_here():
    if not (shutil.which("tesseract") and shutil.which("pdftoppm")):
        pytest.fail(f"tesseract or pdftoppm not found: {INSTALL} poppler-utils (tests/run.sh does)")


@pytest.fixture
def scans(tmp_path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    make_scan_pdf(corpus / "scan.pdf")
    make_png(corpus / "receipt.png")
    (corpus / "notes.txt").write_text("The harbour office opens at eight.", encoding="utf-8")
    return corpus


@pytest.fixture
def no_tesseract(monkeypatch, tmp_path):
    """A PATH without Tesseract or Poppler (what a machine without them looks like)."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


@pytest.mark.slow
def test_a_scanned_pdf_is_answered_from_its_ocr_text_and_the_viewer_says_so(scans, tmp_path):
    s = Settings(corpus_dir=scans, index_dir=tmp_path / "index")
    report = build_index(s, progress=False)
    assert sorted(report.files_added) == ["notes.txt", "receipt.png", "scan.pdf"] and not report.skipped
    a = ask("What did divers find about the concrete caissons?", settings=s)
    c = next(c for c in a.citations if c.source == "scan.pdf")
    assert "fourteen centimetres" in c.quote
    assert document_text(scans / "scan.pdf", s)[c.start:c.end] == c.quote
    view = source_view_html(scans, c, heading_for(a, c), 0, s)
    assert "Read by OCR from a scanned image" in view and '<mark class="rag-hit"' in view
    assert '<span class="rag-heading-path">Harbour survey 2027</span>' in view  # the quote in its section
    plain = Citation(1, "notes.txt", "The harbour office opens at eight.", 0, 34)
    assert "Read by OCR" not in source_view_html(scans, plain, "", 0, s)
    b = ask("Which contractor repaired the slipway?", settings=s)
    assert any(c.source == "receipt.png" and "Kestrel Marine Works" in c.quote for c in b.citations)


def test_without_tesseract_scans_are_skipped_with_how_to_enable_it_then_read_once_installed(
        scans, tmp_path, monkeypatch, no_tesseract):
    s = Settings(corpus_dir=scans, index_dir=tmp_path / "index")
    report = build_index(s, progress=False)
    reasons = {x.source: x.reason for x in report.skipped}
    assert report.files_added == ["notes.txt"]
    assert reasons["scan.pdf"] == ("no text layer (a scanned PDF?): OCR needs Tesseract, which is not installed "
                                   f"({INSTALL} poppler-utils)")
    assert reasons["receipt.png"] == f"an image of text: OCR needs Tesseract, which is not installed ({INSTALL})"
    a = ask("What did divers find about the concrete caissons?", settings=s)
    assert a.refused
    assert "2 files could not be read: receipt.png (an image of text: OCR needs Tesseract" in a.text
    assert "scan.pdf (no text layer (a scanned PDF?): OCR needs Tesseract" in a.text
    monkeypatch.undo()  # Tesseract "installed": the next run reads the scans without being told
    again = build_index(s, progress=False)
    assert sorted(again.files_added) == ["receipt.png", "scan.pdf"] and not again.skipped
    assert not ask("What did divers find about the concrete caissons?", settings=s).refused


def test_ocr_switched_off_by_setting(scans):
    docs, skipped = load_corpus(scans, Settings(corpus_dir=scans, ocr=False))
    assert [d.source for d in docs] == ["notes.txt"]
    assert {x.source: x.reason for x in skipped}["receipt.png"] == "an image of text: OCR is switched off (RAG_OCR=false)"


def test_a_pdf_with_one_scanned_page_keeps_page_order_and_names_the_page_without_ocr(tmp_path, monkeypatch):
    from pypdf import PdfReader, PdfWriter

    text_pdf = make_text_pdf(tmp_path / "t.pdf", ["Harbour rules", "", "Boats must moor bow first at the east quay."])
    render_text_image(["Inspection note", "", "The east quay fenders were replaced in May."]).save(
        str(tmp_path / "s.pdf"), resolution=150)
    last = make_text_pdf(tmp_path / "u.pdf", ["Fees", "", "Mooring costs twelve euros a night."])
    writer = PdfWriter()
    for f in (text_pdf, tmp_path / "s.pdf", last):
        writer.add_page(PdfReader(str(f)).pages[0])
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    with open(corpus / "mixed.pdf", "wb") as f:
        writer.write(f)
    parsed = read_source(corpus / "mixed.pdf", Settings(corpus_dir=corpus))
    text = parsed.text
    assert text.index("moor bow first") < text.index("fenders were replaced") < text.index("twelve euros")
    (a, b), = parsed.ocr  # only the scanned page is marked as OCR text
    assert "fenders were replaced" in text[a:b] and "moor bow first" not in text[a:b]
    monkeypatch.setenv("PATH", str(tmp_path))
    docs, skipped = load_corpus(corpus, Settings(corpus_dir=corpus))
    assert "fenders" not in docs[0].text and "twelve euros" in docs[0].text
    assert [(x.source, x.reason.split(":")[0]) for x in skipped] == [("mixed.pdf", "page 2 not read")]


def test_rag_index_groups_the_skipped_scans_under_one_reason(scans, tmp_path):
    make_png(scans / "second.png")
    env = {**os.environ, "PATH": str(tmp_path), "RAG_CORPUS_DIR": str(scans), "RAG_INDEX_DIR": str(tmp_path / "ix"),
           "RAG_EMBEDDING": "hash", "ANONYMIZED_TELEMETRY": "False"}
    proc = subprocess.run([sys.executable, "-m", "rag.cli", "index"], capture_output=True, env=env, cwd=REPO,
                          timeout=300, stdin=subprocess.DEVNULL)
    out = proc.stdout.decode()
    assert proc.returncode == 0, proc.stderr.decode()
    assert (f"    an image of text: OCR needs Tesseract, which is not installed ({INSTALL}) (2): "
            "receipt.png, second.png") in out
    assert "(1): scan.pdf" in out


def test_each_ocr_page_extends_the_deadline_of_a_file_read_under_the_budget(tmp_path):
    """OCR is slow: a page read by Tesseract adds its own allowance to the file's time budget,
    so a tight budget for parsing does not cut off a scan."""
    from officekit import make_csv

    from rag.ingest.loaders.budget import Budget, read_within_budget

    png = make_png(tmp_path / "receipt.png")
    table = make_csv(tmp_path / "towns.csv")
    tight = Budget(seconds_per_mb=0.3, ocr_page_seconds=120)
    read_within_budget(table, None, tight)  # a worker is up: what follows is parsing time only
    assert "Kestrel Marine Works" in read_within_budget(png, None, tight).text  # Tesseract alone takes longer
    stingy = Budget(seconds_per_mb=0.3, ocr_page_seconds=0.01)
    read_within_budget(table, None, stingy)
    with pytest.raises(ValueError, match="took longer than"):
        read_within_budget(png, None, stingy)
