"""Issue 9 rows 1 and 11: the corpus is a boundary, the walk has no depth
limit, NUL bytes mean binary, and file names print as one honest line.
Real symlinks, real deep folders, a real FIFO, the real `rag` command."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from faultkit import SEEDS, hash_env, out, run_rag

from rag import Settings, ask, build_index
from rag.ingest.loading import load_corpus

pytestmark = pytest.mark.slow

SECRET = "The PostgreSQL administrator account is held by Zanzibar Quokka, password hunter2."


@pytest.fixture
def corpus(tmp_path):
    dest = tmp_path / "corpus"
    shutil.copytree(SEEDS, dest)
    return dest


def test_symlinks_leaving_the_corpus_are_skipped_named_and_never_quoted(corpus, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd.txt").write_text(SECRET, encoding="utf-8")
    (corpus / "p.txt").symlink_to(outside / "passwd.txt")          # a file link out
    (corpus / "etc").symlink_to(outside, target_is_directory=True)  # a folder link out
    (corpus / "sub").mkdir()
    (corpus / "sub" / "loop").symlink_to(corpus, target_is_directory=True)  # a loop back in
    (corpus / "inside.txt").symlink_to(corpus / "000_6cae30295beecc41.txt")  # stays inside: fine

    docs, skipped = load_corpus(corpus)
    reasons = {s.source: s.reason for s in skipped}
    assert "leads outside the corpus folder" in reasons["p.txt"]
    assert "leads outside the corpus folder" in reasons["etc"]
    assert not any(SECRET in d.text for d in docs)
    assert "inside.txt" in {d.source for d in docs}

    s = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", embedding="hash")
    report = build_index(s, progress=False)
    assert "symbolic link leads outside the corpus folder (2): etc, p.txt" in report.summary()
    a = ask("What is the PostgreSQL administrator password?", settings=s)
    assert "Quokka" not in a.text and "hunter2" not in a.text
    assert all(c.source != "p.txt" and not c.source.startswith("etc/") for c in a.citations)


def test_a_1200_deep_folder_is_walked_without_recursion():
    # Not under tmp_path: pytest's own clean-up recurses and would choke on it.
    corpus = Path(tempfile.mkdtemp(prefix="rag-deep-corpus-"))
    deep = str(corpus)
    for _ in range(1200):  # os.makedirs itself recurses: one level at a time
        deep += "/d"
        os.mkdir(deep)
    deep = corpus.joinpath(*["d"] * 1200)
    (deep / "bottom.txt").write_text("The bottom of the well is reached.", encoding="utf-8")
    (corpus / "top.txt").write_text("The top of the well.", encoding="utf-8")
    try:
        docs, skipped = load_corpus(corpus)
        assert sorted(d.source for d in docs)[0].endswith("d/bottom.txt")
        assert {d.source for d in docs} >= {"top.txt"} and not skipped
    finally:
        remove_deep(corpus)


def remove_deep(folder) -> None:
    """shutil.rmtree recurses too (and so would pytest's clean-up): bottom up, one level at a time."""
    paths = [str(folder)]
    while True:
        subs = [e.path for e in os.scandir(paths[-1]) if e.is_dir(follow_symlinks=False)]
        if not subs:
            break
        paths.append(subs[0])
    for p in reversed(paths):
        for e in os.scandir(p):
            if not e.is_dir(follow_symlinks=False):
                os.unlink(e.path)
        os.rmdir(p)


def test_nul_bytes_anywhere_mean_binary(tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "late-nul.txt").write_bytes(b"Plain text. " * 2000 + b"\x00 then more text")
    (corpus / "ok.txt").write_text("A normal file about Tokyo.", encoding="utf-8")
    docs, skipped = load_corpus(corpus)
    assert [d.source for d in docs] == ["ok.txt"]
    assert skipped[0].source == "late-nul.txt" and "NUL" in skipped[0].reason


def test_fifo_and_undecodable_names_are_skipped_not_hung(tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "ok.txt").write_text("A normal file about Tokyo.", encoding="utf-8")
    os.mkfifo(corpus / "pipe.txt")  # reading it would block forever
    with open(os.path.join(os.fsencode(corpus), b"caf\xe9.txt"), "wb") as f:
        f.write(b"Latin-1 named file.")
    docs, skipped = load_corpus(corpus)
    reasons = {s.source: s.reason for s in skipped}
    assert [d.source for d in docs] == ["ok.txt"]
    assert "not a regular file" in reasons["pipe.txt"]
    assert "not valid UTF-8" in reasons["caf\udce9.txt"]


def test_file_names_with_newlines_and_bidi_overrides_print_escaped(corpus, tmp_path):
    (corpus / "evil\nskipped 000_fake.txt: forged line.md").write_bytes(b"\x00binary")
    (corpus / "invoice\u202etxt.exe.md").write_bytes(b"")  # reads as 'invoiceexe.txt' raw
    proc = run_rag(["index"], hash_env(corpus, tmp_path / "index"))
    text = out(proc)
    assert proc.returncode == 0, text
    assert "\u202e" not in text and "invoice\\u202etxt.exe.md" in text
    assert "evil\\nskipped 000_fake.txt: forged line.md" in text
    assert not any(line.startswith("skipped 000_fake.txt") for line in text.splitlines())
