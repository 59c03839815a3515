"""Issue 18: every format people keep their knowledge in. A folder with one
file of each type (made here with the same libraries: tests/officekit.py)
indexes with the real embedding model and real Chroma, each file's facts are
answered by ask() with a verbatim citation (a mail's attachments cited as
``notice.eml#samples.pdf``), and each loader yields the same structure as the
HTML and Markdown loaders: headings with their path, paragraphs, list items,
table rows labelled with their headers, fields."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from officekit import FACTS, SCAN_FACTS, make_corpus, make_docx, make_eml, make_xlsx

from rag import Settings, ask, build_index
from rag.ingest.loading import document_text, file_of, load_corpus, split_source

TESSERACT = shutil.which("tesseract") and shutil.which("pdftoppm")


def blocks(doc):
    return [(b.kind, doc.text[b.start:b.end], b.headings) for b in doc.blocks]


def require_ocr() -> None:
    if not TESSERACT:
        pytest.fail("tesseract or pdftoppm not found: apt-get install tesseract-ocr tesseract-ocr-eng poppler-utils "
                    "(tests/run.sh does)")


@pytest.fixture(scope="module")
def office(tmp_path_factory):
    """The folder, loaded once, OCR on (tests/run.sh installs Tesseract)."""
    require_ocr()
    folder = make_corpus(tmp_path_factory.mktemp("office") / "corpus")
    docs, skipped = load_corpus(folder, Settings(corpus_dir=folder))
    return folder, {d.source: d for d in docs}, skipped


@pytest.fixture(scope="module")
def indexed(office, tmp_path_factory):
    folder, _, _ = office
    s = Settings(corpus_dir=folder, index_dir=tmp_path_factory.mktemp("office-index"))
    return s, build_index(s, progress=False)


def test_word_headings_lists_and_tables(office):
    got = blocks(office[1]["minutes.docx"])
    assert ("heading", "Board minutes", ()) in got  # the Title style
    assert ("heading", "Budget", ("Board minutes",)) in got  # Heading 1 under the title
    assert ("paragraph", "The board approved a budget of 2.4 million euros for the harbour wall in 2027.",
            ("Board minutes", "Budget")) in got
    assert ("list_item", "Publish the tender in January.", ("Board minutes", "Budget", "Decisions")) in got
    assert ("table_row", "Project: Harbour wall; Owner: Ines Duarte; Deadline: March 2027",
            ("Board minutes", "Budget", "Decisions")) in got


def test_slides_titles_bullets_boxes_and_notes(office):
    got = blocks(office[1]["review.pptx"])
    assert ("heading", "Quarterly review", ()) in got
    assert ("list_item", "Waiting times fell to nine days.", ("Quarterly review",)) in got
    assert ("paragraph", "We will hire seven nurses in the Lisbon clinic before October.", ("Hiring plan",)) in got
    assert ("paragraph", "Mention that the Porto office lease ends in December.",
            ("Hiring plan", "Speaker notes")) in got


def test_spreadsheet_rows_read_with_their_headers_under_the_sheet_name(office):
    got = blocks(office[1]["revenue.xlsx"])
    assert ("heading", "Revenue", ()) in got
    assert ("heading", "Quarterly revenue 2027", ("Revenue",)) in got  # a title cell above the header row
    assert ("table_row", "Region: North; Q3 revenue: 1.2M; Growth: 12.5%",
            ("Revenue", "Quarterly revenue 2027")) in got
    assert ("table_row", "Name: Rui Costa; Role: Harbour master; Since: 2019-04-01", ("Staff",)) in got
    csv_rows = blocks(office[1]["towns.csv"])
    assert ("table_row", "City: Ilhavo; Population: 39000; Mayor: Costa, Rui", ()) in csv_rows  # quoted comma
    assert ("table_row", "Station: Ilhavo; Water depth: 6.5 m; Gauge: radar", ()) in blocks(office[1]["stations.tsv"])


def test_odt_epub_and_mail(office):
    odt = blocks(office[1]["handbook.odt"])
    assert ("list_item", "Keep two metres from the edge.", ("Safety rules",)) in odt
    epub = blocks(office[1]["tides.epub"])
    assert [t for k, t, _ in epub if k == "heading"] == ["Spring tides", "Neap tides"]  # chapters in spine order
    assert ("paragraph", "Neap tides stay under two metres and leave the sandbanks dry.", ("Neap tides",)) in epub
    mail = blocks(office[1]["notice.eml"])
    subject = ("Dredging schedule for the north channel",)
    assert mail[0] == ("heading", subject[0], ())
    assert ("field", "From: Ana Ortiz <ana@harbour.example>", subject) in mail
    assert ("field", "Date: Mon, 14 Jun 2027 09:30:00 +0000", subject) in mail
    assert ("field", "Attachments: schedule.docx, samples.pdf, photos.zip", subject) in mail
    # Soft-wrapped body lines are one paragraph.
    assert ("paragraph", "Dredging of the north channel starts on 4 August 2027 and lasts three weeks. The schedule "
            "and the sediment report are attached.", subject) in mail
    # Attachments are documents of their own; an unsupported one is named with the reason.
    assert ("heading", "Dredging schedule", ()) in blocks(office[1]["notice.eml#schedule.docx"])
    assert "Sediment samples contained 12 percent clay." in office[1]["notice.eml#samples.pdf"].text
    assert [(s.source, s.reason) for s in office[2]] == [("notice.eml#photos.zip", "unsupported attachment type .zip")]


def test_every_block_points_into_document_text_for_every_source(office):
    folder, docs, _ = office
    assert {file_of(s) for s in docs} == {p.name for p in folder.iterdir()}
    for source, doc in docs.items():
        text = document_text(folder / source)
        assert text == doc.text, source
        for b in doc.blocks:
            piece = text[b.start:b.end]
            assert piece and piece == piece.strip(), (source, b)
        assert all(a.end <= b.start for a, b in zip(doc.blocks, doc.blocks[1:])), source


def test_attachment_sources_resolve_to_their_mail_and_nothing_else(office, tmp_path):
    folder = office[0]
    assert split_source(folder / "notice.eml#samples.pdf") == (folder / "notice.eml", ["samples.pdf"])
    with pytest.raises(ValueError, match="no readable attachment 'photos.zip'"):
        document_text(folder / "notice.eml#photos.zip")
    with pytest.raises(ValueError, match="no readable attachment"):
        document_text(folder / "notice.eml#../../etc/passwd")
    # A real file whose name looks like an attachment is named, not misread.
    odd = tmp_path / "c"
    odd.mkdir()
    (odd / "ok.txt").write_text("Plain text about the harbour.", encoding="utf-8")
    (odd / "x.eml#y.txt").write_text("Looks like an attachment.", encoding="utf-8")
    docs, skipped = load_corpus(odd)
    assert [d.source for d in docs] == ["ok.txt"]
    assert skipped[0].source == "x.eml#y.txt" and "rename it" in skipped[0].reason


@pytest.mark.slow
@pytest.mark.parametrize("source,question,fact", FACTS + SCAN_FACTS)
def test_each_files_facts_are_answered_with_a_verbatim_citation(indexed, source, question, fact):
    s, _ = indexed
    a = ask(question, settings=s)
    assert not a.refused, a.text
    assert any(c.source == source and fact in c.quote for c in a.citations), (a.text, a.citations)
    for c in a.citations:
        assert document_text(s.ingest.corpus_dir / c.source, s)[c.start:c.end] == c.quote


@pytest.mark.slow
def test_the_folder_indexes_every_file_and_names_what_it_left_out(indexed):
    s, report = indexed
    assert sorted(report.files_added) == sorted(p.name for p in s.ingest.corpus_dir.iterdir())
    assert [x.source for x in report.skipped] == ["notice.eml#photos.zip"]
    assert "    unsupported attachment type .zip (1): notice.eml#photos.zip" in report.summary()
    again = build_index(s, progress=False)  # nothing changed: nothing read, the skip still reported
    assert again.chunks_embedded == 0 and again.files_unchanged == len(report.files_added)
    assert [x.source for x in again.skipped] == ["notice.eml#photos.zip"]


def test_a_mail_that_loses_an_attachment_loses_its_chunks(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    make_xlsx(corpus / "revenue.xlsx")
    work = tmp_path / "work"
    work.mkdir()
    make_eml(corpus / "notice.eml", work)
    s = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", embedding="hash")
    first = build_index(s, progress=False)
    from rag.store.chroma import indexed_files

    assert set(indexed_files(s)) == {"revenue.xlsx", "notice.eml", "notice.eml#schedule.docx",
                                     "notice.eml#samples.pdf"}
    # The same mail without its attachments: their chunks go, incrementally and on a full check.
    import email
    from email import policy

    msg = email.message_from_bytes((corpus / "notice.eml").read_bytes(), policy=policy.default)
    plain = email.message.EmailMessage()
    for k in ("Subject", "From", "To", "Date"):
        plain[k] = msg[k]
    plain.set_content("Dredging of the north channel is postponed.\n")
    (corpus / "notice.eml").write_bytes(plain.as_bytes())
    report = build_index(s, progress=False)
    assert report.files_updated == ["notice.eml"] and report.chunks_removed >= 2
    assert set(indexed_files(s)) == {"revenue.xlsx", "notice.eml"}
    assert build_index(s, progress=False, full_check=True).chunks_embedded == 0
    assert first.chunks_total > report.chunks_total


def test_a_refusal_names_the_files_that_could_not_be_read(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "notes.txt").write_text("The ferry to Ilhavo leaves from pier 4.", encoding="utf-8")
    good = make_docx(tmp_path / "good.docx").read_bytes()
    (corpus / "minutes.docx").write_bytes(good[: len(good) // 2])  # a truncated download
    (corpus / "archive.zip").write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    s = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", embedding="hash")
    report = build_index(s, progress=False)
    assert {x.source for x in report.skipped} == {"minutes.docx", "archive.zip"}
    a = ask("What budget did the board approve for 2027?", settings=s)
    assert a.refused and not a.citations
    assert "2 files could not be read: archive.zip (unsupported file type .zip); minutes.docx (not a valid " \
           ".docx file (damaged, or not a zip archive))." in a.text
    # A question the corpus answers says nothing about them.
    b = ask("From which pier does the ferry to Ilhavo leave?", settings=s)
    assert not b.refused and "could not be read" not in b.text


def test_reading_workers_end_with_the_program_that_started_them(office):
    """Files are parsed in worker processes (rag.ingest.loaders.budget) kept for reuse; none outlives the
    program that used them."""
    folder = office[0]
    code = ("import sys\nfrom pathlib import Path\nfrom rag.ingest.loading import document_text\n"
            "from rag.ingest.loaders import budget\n"
            "assert document_text(Path(sys.argv[1])).startswith('Board minutes')\n"
            "print(' '.join(str(w.proc.pid) for w in budget._POOL._idle))")
    proc = subprocess.run([sys.executable, "-c", code, str(folder / "minutes.docx")], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    pids = [int(p) for p in proc.stdout.split()]
    assert pids  # the worker was kept for the next file while the program ran
    for pid in pids:  # and ended with it (a pid reused since would not be our worker)
        cmdline = Path(f"/proc/{pid}/cmdline")
        assert not cmdline.exists() or b"rag.ingest.loaders.budget" not in cmdline.read_bytes()
