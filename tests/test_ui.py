"""The UI's building blocks without a browser: file-name sanitising, corpus
changes on a real Chroma index, the source viewer, access rules, feedback.

Corpus tests use the ``hash`` embedder: they test file handling and
incremental indexing, not retrieval quality, and it keeps them fast.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import ui  # noqa: F401  (sets the offline environment before gradio is imported)
from rag import Answer, Citation, Passage, Settings, build_index
from rag.store.chroma import indexed_files
from rag.ingest.loading import document_text
from rag.serve.access import is_loopback
from rag.settings import SettingsError
from ui.app import AccessError, address, check_access, parse_auth, run
from ui.bubbles import answer_html, copy_text
from ui.chat import Conversation, Turn, feedback_record, store_feedback
from ui.corpus import Corpus, UploadError, safe_name
from ui.handlers import CHAT_OUTPUTS, Handlers
from ui.security import known_paths, public_message
from ui.store import from_record, record_json
from ui.details import details_html
from ui.viewer import citations_html, file_html, short_heading, source_view_html, sources_html

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def indexed(corpus, tmp_path):
    """Settings over a writable corpus copy with a real (hash-embedded) index."""
    s = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", embedding="hash")
    build_index(s, progress=False)
    return s


def tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


@pytest.mark.parametrize("raw,expected", [
    ("../../x.txt", "x.txt"),
    ("..\\..\\x.txt", "x.txt"),
    ("/etc/cron.d/evil.md", "evil.md"),
    ("...hidden.txt", "hidden.txt"),
    ("a\x00b;rm -rf $HOME.html", "a_b_rm -rf _HOME.html"),
    ("Report 2017 (final).PDF", "Report 2017 (final).PDF"),
    ("x" * 300 + ".txt", "x" * 116 + ".txt"),
])
def test_safe_name_keeps_a_plain_file_name(raw, expected):
    assert safe_name(raw) == expected


@pytest.mark.parametrize("raw", ["..", "../../", ".txt", "notes", "script.sh", "archive.tar.gz", "../.."])
def test_safe_name_refuses_names_without_a_supported_file(raw):
    with pytest.raises(UploadError):
        safe_name(raw)


def test_upload_accepts_every_format_the_corpus_reads_under_the_same_size_limit(indexed, tmp_path):
    from ui.corpus import MAX_UPLOAD_BYTES
    from ui.layout import UPLOAD_TYPES

    assert set(UPLOAD_TYPES) >= {".txt", ".md", ".html", ".pdf", ".docx", ".pptx", ".xlsx", ".csv", ".tsv", ".odt",
                                 ".epub", ".eml", ".png", ".jpg", ".jpeg", ".tif", ".tiff"}
    for name in ("minutes.docx", "Photo.JPG", "mail.eml", "data.tsv"):
        assert safe_name(name) == name
    big = tmp_path / "big.xlsx"
    big.write_bytes(b"PK" + b"\x00" * MAX_UPLOAD_BYTES)
    change = Corpus(indexed).add([(big, "big.xlsx")])
    assert change.added == [] and change.errors == ["big.xlsx: too large (20.0 MB; the limit is 20.0 MB)"]


def test_upload_named_with_traversal_lands_inside_the_corpus_and_is_indexed(indexed, tmp_path):
    src = tmp_path / "upload.bin"
    src.write_text("The zebra committee met in Ulaanbaatar in 2031.\n", encoding="utf-8")
    outside_before = tree(tmp_path)
    change = Corpus(indexed).add([(src, "../../x.txt"), (src, "..\\..\\y.txt")])
    assert change.added == ["x.txt", "y.txt"] and not change.errors
    index = indexed.store.index_dir.relative_to(tmp_path).as_posix() + "/"
    # The index writes new files of its own (lexicon segments); the upload nothing but its two files.
    new = {p for p in tree(tmp_path) - outside_before if not p.startswith(index)}
    assert new == {"corpus/x.txt", "corpus/y.txt"}, new  # nothing anywhere else
    assert {"x.txt", "y.txt"} <= set(indexed_files(indexed))
    assert change.report.files_added == ["x.txt", "y.txt"] and change.report.files_unchanged == 5


def test_bad_files_are_refused_with_a_reason_and_change_nothing(indexed, tmp_path):
    corpus = Corpus(indexed, max_bytes=10_000)
    before = {p: p.read_bytes() for p in indexed.ingest.corpus_dir.iterdir()}
    files_before = indexed_files(indexed)
    fake_pdf = tmp_path / "fake.pdf"
    fake_pdf.write_bytes(b"%PDF-1.4 this is not really a pdf")
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\x00\x01\x02" * 10)
    big = tmp_path / "big.txt"
    big.write_text("word " * 5000)
    empty = tmp_path / "empty.md"
    empty.write_text("   \n")
    change = corpus.add([(fake_pdf, "fake.pdf"), (binary, "bin.txt"), (big, "big.txt"),
                         (empty, "empty.md"), (binary, "run.exe")])
    assert change.added == [] and change.report is None
    reasons = "\n".join(change.errors)
    assert "fake.pdf: cannot read it (unreadable PDF" in reasons
    assert "bin.txt: cannot read it (binary file" in reasons
    assert "big.txt: too large" in reasons and "empty.md: no text" in reasons
    assert "unsupported file type" in reasons
    assert {p: p.read_bytes() for p in indexed.ingest.corpus_dir.iterdir()} == before
    assert indexed_files(indexed) == files_before


def test_a_good_file_is_added_while_a_bad_one_beside_it_is_reported(indexed, tmp_path):
    good, bad = tmp_path / "good.md", tmp_path / "bad.txt"
    good.write_text("# Notes\n\nKishida met Tillerson.\n")
    bad.write_bytes(b"\xff\xfe\x00broken")
    change = Corpus(indexed).add([(good, "good.md"), (bad, "bad.txt")])
    assert change.added == ["good.md"] and len(change.errors) == 1 and "bad.txt" in change.errors[0]
    assert not (indexed.ingest.corpus_dir / "bad.txt").exists()


def test_failed_indexing_rolls_the_corpus_back(indexed, tmp_path, monkeypatch):
    target = indexed.ingest.corpus_dir / "004_5dafd41b89f38992.txt"
    target.chmod(0o644)
    original = target.read_bytes()
    new = tmp_path / "new.txt"
    new.write_text("Replacement text about Hillary Clinton.\n")

    def broken(*a, **k):
        raise RuntimeError("embedding server fell over")

    monkeypatch.setattr("ui.corpus.build_index", broken)
    with pytest.raises(RuntimeError):
        Corpus(indexed).add([(new, target.name), (new, "brand-new.txt")])
    assert target.read_bytes() == original
    assert not (indexed.ingest.corpus_dir / "brand-new.txt").exists()
    assert not [p for p in indexed.ingest.corpus_dir.iterdir() if p.name.startswith(".")]


def test_remove_moves_the_file_to_the_trash_and_restore_brings_it_back(indexed):
    corpus = Corpus(indexed)
    name = "001_0df1e04c0dd6828e.txt"
    original = (indexed.ingest.corpus_dir / name).read_bytes()
    report, entry = corpus.remove(name)
    assert report.files_removed == [name] and report.chunks_removed > 0
    assert name not in indexed_files(indexed) and not (indexed.ingest.corpus_dir / name).exists()
    # Nothing the user owns is deleted: the file waits in the trash, inside the index folder.
    assert (indexed.store.index_dir / "trash" / entry.id / "item").read_bytes() == original
    assert [e.name for e in corpus.trash.entries()] == [name]
    for bad in ("../index/chroma.sqlite3", "/etc/passwd", name):
        with pytest.raises(UploadError):
            corpus.remove(bad)
    rows = corpus.files()
    assert len(rows) == 4 and all(r[3] == "indexed" for r in rows)

    report, back = corpus.restore(entry.id)
    assert back.name == name and (indexed.ingest.corpus_dir / name).read_bytes() == original
    assert name in indexed_files(indexed) and report.files_added == [name]
    assert corpus.trash.entries() == []
    with pytest.raises(UploadError, match="no longer in the trash"):
        corpus.restore(entry.id)


def test_restore_refuses_to_overwrite_a_file_of_the_same_name(indexed, tmp_path):
    corpus = Corpus(indexed)
    name = "001_0df1e04c0dd6828e.txt"
    _, entry = corpus.remove(name)
    new = tmp_path / "new.txt"
    new.write_text("A new file that took the old name.\n")
    corpus.add([(new, name)])
    with pytest.raises(UploadError, match="has a file of that name again"):
        corpus.restore(entry.id)
    assert (indexed.ingest.corpus_dir / name).read_text() == "A new file that took the old name.\n"


def test_replacing_a_file_by_upload_keeps_the_old_version_in_the_trash(indexed, tmp_path):
    name = "004_5dafd41b89f38992.txt"
    old = (indexed.ingest.corpus_dir / name).read_bytes()
    new = tmp_path / "new.txt"
    new.write_text("Replacement text about Hillary Clinton.\n")
    change = Corpus(indexed).add([(new, name)])
    assert change.added == [name] and [e.name for e in change.replaced] == [name]
    assert (indexed.store.index_dir / "trash" / change.replaced[0].id / "item").read_bytes() == old


def test_a_failed_removal_leaves_the_file_in_place(indexed, monkeypatch):
    name = "001_0df1e04c0dd6828e.txt"

    def broken(*a, **k):
        raise RuntimeError("index unwritable")

    monkeypatch.setattr("ui.corpus.build_index", broken)
    with pytest.raises(RuntimeError):
        Corpus(indexed).remove(name)
    assert (indexed.ingest.corpus_dir / name).exists() and Corpus(indexed).trash.entries() == []


def test_viewer_highlights_the_exact_quote_and_escapes_markup(tmp_path):
    text = "Intro <script>alert(1)</script> & more.\nThe quoted <b>span</b> here.\nOutro."
    (tmp_path / "doc.txt").write_text(text, encoding="utf-8")
    start = text.index("The quoted")
    end = text.index(" here.")
    quote = text[start:end]
    page = source_view_html(tmp_path, Citation(2, "doc.txt", quote, start, end), "Guide > Install", turn=3)
    assert '<mark class="rag-hit" id="rag-hit" tabindex="-1" data-rag-hit="2">The quoted &lt;b&gt;span&lt;/b&gt;</mark>' \
        in page
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more." in page
    assert "Guide &gt; Install" in page and 'href="#rag-back-3-2"' in page
    assert document_text(tmp_path / "doc.txt")[start:end] == quote


def test_viewer_refuses_to_highlight_a_changed_file_or_leave_the_corpus(tmp_path):
    (tmp_path / "doc.txt").write_text("Completely different text now.")
    page = source_view_html(tmp_path, Citation(1, "doc.txt", "old words", 0, 9))
    assert "changed since it was indexed" in page and "<mark" not in page
    page = source_view_html(tmp_path / "sub", Citation(1, "../doc.txt", "Completely", 0, 10))
    assert "outside the corpus" in page and "<mark" not in page
    page = source_view_html(tmp_path, Citation(1, "gone.txt", "x", 0, 1))
    assert "Cannot open gone.txt" in page and str(tmp_path) not in page  # no server path on the page


def test_sources_panel_shows_absolute_similarity_not_relative_to_the_top_hit():
    p = [Passage("a", "one.txt", 0, 5, "x", 0.03, 0.08, 2.0), Passage("b", "two.txt", 0, 5, "y", 0.01, 0.02, 0.0),
         Passage("c", "one.txt", 9, 20, "z", 0.02, 0.05, 1.0)]
    html = sources_html(Answer("t [1]", [Citation(1, "one.txt", "x", 0, 1)], passages=p), turn=0)
    assert html.index("one.txt") < html.index("two.txt")
    # A weak best hit (cosine 0.08) draws a short bar, not a full one.
    assert 'style="width:8%"' in html and 'style="width:2%"' in html and "low" in html
    assert "0.08" in html and 'href="#rag-cite-0-1"' in html and ">2<" in html
    strong = sources_html(Answer("t", passages=[Passage("a", "one.txt", 0, 5, "x", 0.03, 0.64, 2.0)]))
    assert 'style="width:64%"' in strong and "high" in strong


def test_answer_bubble_links_markers_escapes_text_and_carries_clean_copy_text():
    a = Answer('He said “yes” <img src=x onerror=alert(1)> ![t](http://example.com/t.png) [1] and [7]',
               [Citation(1, "a <b>.txt", "quote", 10, 15)],
               passages=[Passage("c", "a <b>.txt", 0, 50, "", 0.1, 0.5, 1.0, "Guide > Install")])
    html = answer_html(4, a)
    assert '<a class="rag-cite" href="#rag-cite-4-1"' in html and "[7]" in html and "rag-cite-4-7" not in html
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "![t](http://example.com/t.png)" in html  # shown as text; markdown is off in the chatbot
    assert "a &lt;b&gt;.txt" in html and "Guide &gt; Install" in html
    assert copy_text(a) == ('He said “yes” <img src=x onerror=alert(1)> ![t](http://example.com/t.png) [1] and [7]'
                            "\n\nSources:\n[1] a <b>.txt (chars 10-15)")
    assert '<span hidden class="rag-copytext">' in html


def test_conversation_messages_and_browser_record_round_trip():
    conv = Conversation([Turn("Who came?", Answer("Tillerson came. [1]", [Citation(1, "a.txt", "T", 0, 1)])),
                         Turn("Stopped?", partial="Half an ans", stopped=True),
                         Turn("When?", Answer("I can't answer that from the corpus.", refused=True)),
                         Turn("Reloaded mid-stream?")])
    assert [m["content"] for m in conv.history()] == [
        "Who came?", "Tillerson came. [1]", "When?", "I can't answer that from the corpus."]
    msgs = conv.messages()
    assert len(msgs) == 8 and "Not in the corpus" in msgs[5]["content"]
    assert "Stopped" in msgs[3]["content"] and "Half an ans" in msgs[3]["content"]
    assert "reloaded while this question was being answered" in msgs[7]["content"]
    assert conv.turn_at_message(5) == 2 and conv.turn_at_message(8) is None
    back = from_record(json.loads(record_json(conv)))
    assert back.id == conv.id and [t.question for t in back.turns] == [t.question for t in conv.turns]
    assert back.turns[0].answer.citations == conv.turns[0].answer.citations and back.turns[1].stopped
    assert back.messages() == conv.messages()


@pytest.mark.parametrize("record", [
    None, "not json", {"v": 1}, {"v": 1, "id": "../../x", "turns": []},
    {"v": 1, "id": "c0123456789abcdef", "turns": [{"q": 5}]},
    {"v": 1, "id": "c0123456789abcdef", "turns": [{"q": "x", "a": {"text": "t", "citations": [["1", 2]]}}]},
    {"v": 1, "id": "c0123456789abcdef", "turns": [{"q": "x"}] * 1000},
])
def test_a_damaged_or_hostile_browser_record_is_refused(record):
    assert from_record(record) is None


def test_question_limits_and_errors_never_show_server_paths(indexed):
    h = Handlers(indexed, Corpus(indexed))
    assert "limit is 2,000" in h.question_problem("x" * 2001) and h.question_problem("  ") is not None
    assert h.question_problem("Who came?") is None
    msg = public_message(f"no index at {indexed.store.index_dir}; run rag index", known_paths(indexed))
    assert str(indexed.store.index_dir) not in msg and "the index folder" in msg
    assert public_message("cannot read /home/ana/secret/notes.txt") == "cannot read …/notes.txt"
    panel = h.in_use_html()
    assert str(indexed.store.index_dir) not in panel and str(indexed.ingest.corpus_dir) not in panel
    assert "corpus/" in panel


def test_feedback_is_appended_as_jsonl_next_to_the_index(tmp_path):
    turn = Turn("Which resolutions?", Answer("2270 and 2231 [1]", [Citation(1, "a.txt", "2270", 3, 7)]),
                answerer="extractive", top_k=6)
    for rating in ("up", "down"):
        store_feedback(tmp_path, feedback_record(turn, rating, "s1"))
    rows = [json.loads(line) for line in (tmp_path / "feedback.jsonl").read_text().splitlines()]
    assert [r["rating"] for r in rows] == ["up", "down"]
    assert rows[0]["question"] == "Which resolutions?" and rows[0]["answer"] == "2270 and 2231 [1]"
    assert rows[0]["citations"] == [{"marker": 1, "source": "a.txt", "quote": "2270", "start": 3, "end": 7}]


def test_host_and_port_default_to_loopback_and_follow_flags_and_env():
    assert address(environ={}) == ("127.0.0.1", 7860)
    assert address(environ={"RAG_UI_HOST": "::1", "RAG_UI_PORT": "8123"}) == ("::1", 8123)
    assert address("localhost", "9000", environ={"RAG_UI_PORT": "1"}) == ("localhost", 9000)
    for bad in ("0", "65536", "http"):
        with pytest.raises(SettingsError, match=f"RAG_UI_PORT / --port='{bad}' is invalid: expected 1-65535"):
            address(port=bad, environ={})


def test_access_rules():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("::") and not is_loopback("example.org")
    assert parse_auth(None) is None and parse_auth("a:b:c") == ("a", "b:c")
    for bad in ("nocolon", ":pw", "user:"):
        with pytest.raises(AccessError):
            parse_auth(bad)
    check_access("127.0.0.1", None)
    check_access("0.0.0.0", ("alice", "pw"))
    with pytest.raises(AccessError, match="RAG_UI_AUTH"):
        check_access("0.0.0.0", None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_binding_all_interfaces_without_credentials_is_refused(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("RAG_UI_AUTH", raising=False)
    port = free_port()
    code = run("0.0.0.0", str(port), index_dir=str(tmp_path / "ix"))
    assert code == 2
    assert "refusing to serve on 0.0.0.0 without a password" in capsys.readouterr().err
    assert not (tmp_path / "ix").exists()  # refused before any work
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0  # nothing listens


def test_rag_ui_command_refuses_all_interfaces_without_credentials(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "RAG_UI_AUTH"}
    env.update(RAG_UI_HOST="0.0.0.0", RAG_UI_PORT=str(free_port()), RAG_INDEX_DIR=str(tmp_path / "ix"))
    done = subprocess.run([sys.executable, "-m", "rag.cli", "ui"], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "refusing to serve on 0.0.0.0" in done.stderr and "RAG_UI_AUTH=user:password" in done.stderr


def _asked(h: Handlers, question: str) -> tuple:
    """Every output ``respond`` yields for ``question``, the last one last."""
    return list(h.respond(question, Conversation(), "extractive", 5))


def test_an_unrelated_file_with_a_negative_cosine_does_not_break_the_answer(tmp_path):
    # Found by a new user: with two small files, the second passage retrieved was an
    # unrelated file whose cosine is below zero, and the sources panel crashed the answer.
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "walrus.txt").write_text("The walrus festival takes place every March in Tromso. "
                                       "Tickets cost 20 euros.\n")
    (corpus / "maths.txt").write_text("The integral of x squared is x cubed over three.\n")
    s = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(s, progress=False)
    outs = _asked(Handlers(s, Corpus(s)), "How much do walrus festival tickets cost?")
    final = dict(zip(CHAT_OUTPUTS, outs[-1]))
    answer = final["conv"].turns[-1].answer
    maths = next(p for p in answer.passages if p.source == "maths.txt")
    assert maths.dense_score < 0  # the case that crashed
    assert "20 euros" in answer.text and answer.citations
    assert final["notice"] == ""  # nothing failed
    assert "maths.txt" in final["sources"] and "low" in final["sources"]


def test_a_citation_request_number_is_stamped_on_its_view_and_nothing_else_is(indexed):
    # The page tells a fresh view of [1] from the one still on screen by this number.
    import gradio as gr

    h = Handlers(indexed, Corpus(indexed))
    conv = dict(zip(CHAT_OUTPUTS, _asked(h, "Which UN Security Council resolutions were cited?")[-1]))["conv"]

    def view(req) -> str:
        msg = json.dumps({"kind": "cite", "turn": 0, "marker": 1, "req": req})
        return dict(zip(CHAT_OUTPUTS, h.inbox(conv, gr.SelectData(None, {"index": 0, "value": msg}))))["viewer"]

    assert 'href="#rag-back-0-1" data-rag-req="7"' in view(7) and "<mark" in view(7)
    for hostile in ('7" onmouseover="x', True, -1, 2**60, 1.5, None, [7]):
        shown = view(hostile)
        assert "<mark" in shown and "data-rag-req" not in shown and "onmouseover" not in shown


def test_a_failing_side_panel_leaves_the_answer_intact_and_says_what_failed(indexed, monkeypatch):
    def broken(*_a, **_k):
        raise ValueError("the table fell over")

    monkeypatch.setattr("ui.handlers.sources_html", broken)
    outs = _asked(Handlers(indexed, Corpus(indexed)), "Which UN Security Council resolutions were cited?")
    final = dict(zip(CHAT_OUTPUTS, outs[-1]))
    turn = final["conv"].turns[-1]
    assert turn.answer is not None and turn.answer.text  # the answer stands
    assert "rag-copytext" in final["chatbot"][-1]["content"]  # shown as a finished answer
    assert "Sources retrieved" in final["notice"] and "ValueError: the table fell over" in final["notice"]
    assert "role=\"status\"" in final["notice"]  # information, not an error: the answer is there
    assert "could not be shown" in final["sources"] and "rag-kvtable" in final["sources"]  # details still shown
    assert final["citations"] != "" and "rag-citelist" in final["citations"]  # the other panels still work


def test_sources_show_each_heading_path_once_shortened_in_the_middle():
    heading = "Installation > Installers > macOS > GUI installer > Step by step guide for new users"
    p = [Passage("c", "docs/how-to/install.md", 0, 500, "", 0.1, 0.7, 1.0, heading)]
    a = Answer("One [1]. Two [2]. Three [3].", [Citation(i, "docs/how-to/install.md", "q", 10 * i, 10 * i + 1)
                                                 for i in (1, 2, 3)], passages=p)
    bubble, panel = answer_html(0, a), citations_html(0, a)
    for html in (bubble, panel):
        assert html.count('class="rag-heading"') == 1  # once for the three citations from that section
        assert 'title="Installation &gt; Installers' in html  # the full path on hover
    short = short_heading(heading)
    assert short.startswith("Installation > … >") and short.endswith("Step by step guide for new users")
    assert len(short) <= 64 and short_heading("A > B") == "A > B"
    # File names wrap after their separators, not inside words.
    assert file_html("docs/how-to/install.md") == \
        '<span class="rag-file">docs/<wbr>how-<wbr>to/<wbr>install.md</span>'


def test_answer_details_are_tables_with_the_json_behind_a_toggle():
    trace = {"question": "Who?", "query": "Who came to Tokyo?", "answerer": "extractive", "seconds": 0.25,
             "timings": {"embed_query": 0.04, "dense": 0.005}, "confidence": 0.9,
             "retrieved": [{"source": "a.txt", "start": 0, "end": 50, "score": 0.03, "dense": -0.02, "lexical": 1.2},
                           {"source": "b <x>.txt", "start": 5, "end": 9, "score": 0.01, "dense": None}],
             "evidence": [{"source": "a.txt", "start": 10, "end": 20, "score": 1.3, "dense": 0.4, "cover": 0.8}]}
    a = Answer("Tillerson came. [1]", [Citation(1, "a.txt", "Tillerson came.", 10, 25)], trace=trace)
    html = details_html(a)
    assert '<table class="rag-kvtable">' in html and "Who came to Tokyo?" in html  # the query searched for
    assert "embed the question 40 ms" in html and "0.25 s" in html
    assert "-0.02" in html and "b &lt;x&gt;.txt" in html and "<x>" not in html.split("<details")[0]
    assert html.count("<tr class=rag-cited>") == 1  # a.txt 0-50 holds the citation at 10
    assert '<details class="rag-json"><summary>' in html and "&quot;quote&quot;: &quot;Tillerson came.&quot;" in html
    assert details_html(Answer("x", trace="not a dict")).count("<table") == 1  # free-form traces never break it


def test_viewer_shows_prose_as_text_and_code_blocks_as_code(tmp_path):
    text = "# Guide\n\nRun this:\n\n```\nhatch --version\n```\n\nThen read on.\n"
    (tmp_path / "g.md").write_text(text)
    shown = document_text(tmp_path / "g.md")
    start = shown.index("Then read")
    page = source_view_html(tmp_path, Citation(1, "g.md", shown[start:start + 13], start, start + 13), turn=0)
    assert '<code class="rag-code">' in page and "hatch --version" in page.split('<code class="rag-code">')[1]
    assert "Then read on" not in "".join(x.split("</code>")[0] for x in page.split('<code class="rag-code">')[1:])
    assert 'aria-label="Close the source and go back to the answer"' in page
