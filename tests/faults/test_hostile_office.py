"""Issue 18 row 6: hostile input for every new parser. Zip bombs (.docx,
.xlsx, .pptx, .odt, .epub), a spreadsheet with a million empty rows, a mail
with a 50 MB attachment, an image bomb, a corrupt file of each type: each is
skipped (or read in part) and named with the reason, within the parsing
budget (a worker process with a CPU deadline and a memory cap: rag/ingest/loaders/budget.py),
and every other file of the corpus is still indexed and answered. The
budget itself is shown to work: a file over the deadline, and one over the
memory cap, are stopped and named, and the next file is read by a new child."""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path

import pytest
from officekit import (corrupt, make_csv, make_docx, make_eml, make_epub, make_odt, make_png, make_pptx, make_tsv,
                       make_xlsx, million_empty_rows, rewrite_zip, zip_bomb)

from rag import Settings, ask, build_index
from rag.ingest.loading import load_corpus

pytestmark = pytest.mark.slow

GOOD_QUESTION = "What colour of helmet must visitors wear on the quay?"


def corpus_with(tmp_path: Path) -> Path:
    """A corpus holding one good file the hostile ones must not take down."""
    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    make_odt(corpus / "zz-handbook.odt")
    return corpus


def index_and_check(corpus: Path, tmp_path: Path, **settings) -> dict[str, str]:
    """Index with word-hashing embeddings; the good file is indexed and answered. Returns skip reasons."""
    s = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", embedding="hash", **settings)
    report = build_index(s, progress=False)
    assert "zz-handbook.odt" in report.files_added, report.summary()
    a = ask(GOOD_QUESTION, settings=s)
    assert any(c.source == "zz-handbook.odt" and "yellow helmet" in c.quote for c in a.citations), a.text
    return {x.source: x.reason for x in report.skipped}


# The zip-based formats, each with a part its parser reads.
ZIP_FORMATS = [(".docx", make_docx, "word/document.xml"), (".xlsx", make_xlsx, "xl/worksheets/sheet1.xml"),
               (".pptx", make_pptx, "ppt/slides/slide1.xml"), (".odt", make_odt, "content.xml"),
               (".epub", make_epub, "EPUB/chap_1.xhtml")]


@pytest.mark.parametrize("suffix,make,member", ZIP_FORMATS)
def test_zip_bombs_are_named_and_never_unpacked(tmp_path, suffix, make, member):
    name = f"bomb{suffix}"
    corpus = corpus_with(tmp_path)
    like = make(tmp_path / f"like{Path(name).suffix}")
    assert member in zipfile.ZipFile(like).namelist()
    zip_bomb(corpus / name, like, member, gigabytes=0.35)
    assert (corpus / name).stat().st_size < 2 * 2**20  # a few hundred KB that unpack to 350 MB
    reasons = index_and_check(corpus, tmp_path)
    assert re.fullmatch(r"unpacks to 3[56]\d MB \(more than 300 MB\): a zip bomb\? not read", reasons[name])


def test_a_million_empty_rows_are_read_up_to_the_row_limit_and_named(tmp_path):
    corpus = corpus_with(tmp_path)
    like = make_xlsx(tmp_path / "like.xlsx")
    million_empty_rows(corpus / "ledger.xlsx", like)
    s = Settings(corpus_dir=corpus)
    docs, skipped = load_corpus(corpus, s)
    ledger = next(d for d in docs if d.source == "ledger.xlsx")
    assert "Region: North; Q3 revenue: 1.2M" in ledger.text  # its real rows are read
    assert [(x.source, x.reason) for x in skipped] == [
        ("ledger.xlsx", "sheet 'Revenue': rows after 100,000 not read (limit per file)"),
        ("ledger.xlsx", "sheet 'Staff' not read: the file has more than 100,000 rows")]
    index_and_check(corpus, tmp_path)


def slow_sheet(path: Path, like: Path, rows: int = 10_000, columns: int = 500) -> Path:
    """An .xlsx of some hundred KB whose first sheet holds rows of empty cells (``<c/>``, which
    compresses to almost nothing): seconds of parsing for every KB, where a real workbook
    takes a fraction of a second per MB."""
    def fill(data: bytes) -> bytes:
        text = data.decode()
        filler = ("<row>" + "<c/>" * columns + "</row>") * rows
        return text.replace("</sheetData>", filler + "</sheetData>").encode()

    return rewrite_zip(path, like, "xl/worksheets/sheet1.xml", fill)


def test_a_file_over_the_time_budget_is_stopped_named_and_the_next_file_still_read(tmp_path):
    corpus = corpus_with(tmp_path)
    like = make_xlsx(tmp_path / "like.xlsx")
    slow_sheet(corpus / "a-ledger.xlsx", like)  # read first: about 15 s of parsing
    assert (corpus / "a-ledger.xlsx").stat().st_size < 2**20  # so its budget is 1 s of CPU
    make_docx(corpus / "b-minutes.docx")  # read next, by a new worker
    reasons = index_and_check(corpus, tmp_path, parse_timeout=1.0)
    assert reasons["a-ledger.xlsx"].startswith("took more than 1 s of CPU to read (the time budget for a file of "
                                               "this size, RAG_PARSE_TIMEOUT seconds per MB)"), reasons
    assert "b-minutes.docx" not in reasons


def test_a_file_over_the_memory_cap_is_stopped_and_named(tmp_path):
    corpus = corpus_with(tmp_path)
    like = make_docx(tmp_path / "like.docx")
    # Under the zip limit, but a 240 MB XML tree is gigabytes in memory.
    paragraph = b"<w:p><w:r><w:t>The quay is long.</w:t></w:r></w:p>"
    body = b"".join([b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
                     b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>',
                     paragraph * (240 * 2**20 // len(paragraph)), b"</w:body></w:document>"])
    rewrite_zip(corpus / "huge.docx", like, "word/document.xml", lambda _: body)
    del body
    reasons = index_and_check(corpus, tmp_path, parse_memory_mb=256, parse_timeout=120)
    assert "256 MB" in reasons["huge.docx"] and "RAG_PARSE_MEMORY_MB" in reasons["huge.docx"], reasons


@pytest.mark.parametrize("size", [50 * 10**6, 60 * 2**20])
def test_a_mail_with_a_huge_attachment_keeps_its_body_and_names_the_attachment(tmp_path, size):
    corpus = corpus_with(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    make_eml(corpus / "notice.eml", work, extra=[("survey.pdf", os.urandom(size), "application/pdf")])
    reasons = index_and_check(corpus, tmp_path)
    if size > 50 * 2**20:
        assert reasons["notice.eml#survey.pdf"] == "too large (about 60 MB; the limit is 50 MB)"
    else:
        assert reasons["notice.eml#survey.pdf"] == "not a PDF (no %PDF header: damaged, or another format)"
    s = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", embedding="hash")
    a = ask("When does dredging of the north channel start?", settings=s)
    assert any(c.source == "notice.eml" and "4 August 2027" in c.quote for c in a.citations), a.text
    b = ask("How much clay did the sediment samples contain?", settings=s)  # the other attachments are read
    assert any(c.source == "notice.eml#samples.pdf" for c in b.citations), b.text


def test_an_image_bomb_is_named_not_decoded(tmp_path):
    from PIL import Image

    corpus = corpus_with(tmp_path)
    Image.new("1", (12000, 12000), 1).save(corpus / "poster.png")  # 144 megapixels of white, a few KB
    reasons = index_and_check(corpus, tmp_path)
    assert reasons["poster.png"] == "image too large to read (12000x12000 pixels)"


def test_attachment_names_cannot_leave_the_mail(tmp_path):
    corpus = corpus_with(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    make_eml(corpus / "notice.eml", work, extra=[("../../etc/passwd#x.csv", b"User,Shell\nroot,/bin/sh\n", "text/csv")])
    docs, skipped = load_corpus(corpus, Settings(corpus_dir=corpus))
    names = {d.source for d in docs}
    assert "notice.eml#etc_passwd_x.csv" in names  # no folders, no "#": one plain name inside the mail
    assert all("/" not in n and ".." not in n for n in names)


def _corrupt_files(tmp_path: Path) -> dict[str, bytes]:
    work = tmp_path / "work"
    work.mkdir()
    made = {
        "minutes.docx": make_docx(work / "a.docx"), "review.pptx": make_pptx(work / "a.pptx"),
        "revenue.xlsx": make_xlsx(work / "a.xlsx"), "notes.odt": make_odt(work / "b.odt"),
        "tides.epub": make_epub(work / "a.epub"), "receipt.png": make_png(work / "a.png"),
    }
    out = {name: path.read_bytes() for name, path in made.items()}
    out["towns.csv"] = make_csv(work / "a.csv").read_bytes()
    out["stations.tsv"] = make_tsv(work / "a.tsv").read_bytes()
    out["notice.eml"] = make_eml(work / "a.eml", work).read_bytes()
    return out


def test_a_corrupt_file_of_each_type_is_named_with_a_reason(tmp_path):
    corpus = corpus_with(tmp_path)
    originals = _corrupt_files(tmp_path)
    for name, data in originals.items():
        if name.endswith((".csv", ".tsv")):
            (corpus / name).write_bytes(data[:10] + b"\x00\x01\x02" + os.urandom(200))  # binary in a text table
        elif name.endswith(".eml"):
            (corpus / name).write_bytes(os.urandom(4000))  # random bytes
        else:
            corrupt(corpus / name, data)
    from PIL import Image

    Image.new("L", (200, 200), 255).save(corpus / "scan.jpg")  # a blank "scan": no text
    (corpus / "fax.tiff").write_bytes(b"II*\x00" + os.urandom(300))  # a TIFF header, then noise
    (corpus / "letter.eml").write_text("Dear Ana,\nthis was saved from a word processor.\n", encoding="utf-8")
    reasons = index_and_check(corpus, tmp_path)
    assert set(reasons) == set(originals) | {"scan.jpg", "fax.tiff", "letter.eml"}, reasons
    for name in ("minutes.docx", "review.pptx", "revenue.xlsx", "notes.odt", "tides.epub"):
        assert reasons[name] == f"not a valid {Path(name).suffix} file (damaged, or not a zip archive)"
    assert reasons["towns.csv"] == reasons["stations.tsv"] == "binary file (contains NUL bytes)"
    assert reasons["notice.eml"] == "binary file (contains NUL bytes)"
    assert reasons["letter.eml"] == "not an e-mail message (no mail headers)"
    assert reasons["scan.jpg"] == "empty (no text)"
    assert reasons["fax.tiff"].startswith("unreadable image")
    assert reasons["receipt.png"].startswith(("unreadable image", "OCR failed", "empty"))


def test_damage_inside_a_valid_zip_is_named(tmp_path):
    """The archive opens, but a part is not what the format needs."""
    corpus = corpus_with(tmp_path)
    like = make_docx(tmp_path / "like.docx")
    rewrite_zip(corpus / "broken.docx", like, "word/document.xml", lambda _: b"<w:document>not closed")
    with zipfile.ZipFile(tmp_path / "x.xlsx", "w") as z:
        z.writestr("hello.txt", "an archive, but no workbook in it")
    (corpus / "empty.xlsx").write_bytes((tmp_path / "x.xlsx").read_bytes())
    reasons = index_and_check(corpus, tmp_path)
    assert reasons["broken.docx"].startswith("unreadable .docx (")
    assert reasons["empty.xlsx"].startswith("unreadable .xlsx (")


@pytest.mark.parametrize("suffix,make,member", ZIP_FORMATS)
def test_external_entities_never_read_files_outside_the_corpus(tmp_path, suffix, make, member):
    """XXE: a part declares an entity that points at a file on the server; it is never expanded."""
    name = f"evil{suffix}"
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-XXE-LEAK", encoding="utf-8")
    corpus = corpus_with(tmp_path)
    like = make(tmp_path / f"like{Path(name).suffix}")
    dtd = f'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file://{secret}">]>'
    def plant(data: bytes) -> bytes:
        text = re.sub(r"^(<\?xml[^>]*\?>)?", lambda m: (m.group(0) or "") + dtd, data.decode(), count=1)
        text, n = re.subn(r">([A-Z][a-z]+)", r">&xxe;\1", text, count=1)
        assert n == 1
        return text.encode()

    rewrite_zip(corpus / name, like, member, plant)
    docs, skipped = load_corpus(corpus, Settings(corpus_dir=corpus))
    assert not any("TOPSECRET" in d.text for d in docs)
    assert name in {d.source for d in docs} | {x.source for x in skipped}
