from pathlib import Path

import pytest

from rag.ingest.chunking import split_documents
from rag.ingest.loading import CorpusError, document_text, html_visible_text, load_corpus

# A one-page PDF whose content stream draws "Hello PDF world" in Helvetica.
_PDF_STREAM = b"BT /F1 18 Tf 50 700 Td (Hello PDF world about Kishida) Tj ET"


def make_pdf(path: Path) -> None:
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(_PDF_STREAM) + _PDF_STREAM + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    path.write_bytes(bytes(out))


def test_loads_all_supported_types_recursively_and_skips_bad_files(tmp_path):
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "a.txt").write_text("Plain text about Tokyo.", encoding="utf-8")
    (tmp_path / "sub" / "b.md").write_text("# Title\n\nMarkdown body.", encoding="utf-8")
    (tmp_path / "sub" / "deeper" / "c.html").write_text(
        "<html><head><title>T</title><style>p{}</style></head><body><p>Visible <b>words</b></p>"
        "<script>var hidden = 1;</script></body></html>", encoding="utf-8")
    make_pdf(tmp_path / "d.pdf")
    (tmp_path / "empty.txt").write_text("   \n", encoding="utf-8")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02 binary")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")

    docs, skipped = load_corpus(tmp_path)
    by_name = {d.source: d for d in docs}
    assert set(by_name) == {"a.txt", "sub/b.md", "sub/deeper/c.html", "d.pdf"}
    assert by_name["sub/deeper/c.html"].text == "Visible words"
    assert "Hello PDF world" in by_name["d.pdf"].text
    assert all(len(d.sha256) == 64 for d in docs)
    reasons = {s.source: s.reason for s in skipped}
    assert set(reasons) == {"empty.txt", "binary.txt", "latin1.txt", "broken.pdf", "image.png"}
    assert "binary" in reasons["binary.txt"] and "UTF-8" in reasons["latin1.txt"]
    assert "empty" in reasons["empty.txt"] and "PDF" in reasons["broken.pdf"]


def test_missing_corpus_names_the_path(tmp_path):
    with pytest.raises(CorpusError, match=str(tmp_path / "nope")):
        load_corpus(tmp_path / "nope")


def test_html_visible_text_drops_scripts_and_keeps_blocks():
    assert html_visible_text("<div>One</div><div>Two</div><style>x</style>") == "One\n\nTwo"


def test_chunks_know_their_offsets_and_ids_are_stable(corpus):
    docs, _ = load_corpus(corpus)
    chunks = split_documents(docs, 400, 60)
    assert len(chunks) > len(docs)
    for c in chunks:
        assert document_text(corpus / c.source)[c.start:c.end] == c.text
    again = split_documents(docs, 400, 60)
    assert [c.id for c in again] == [c.id for c in chunks]
    assert len({c.id for c in chunks}) == len(chunks)
