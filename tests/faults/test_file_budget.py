"""Issue 17 row 6 (a hostile PDF must not stall `rag index` or the Corpus tab),
row 13 (a file vanishing mid-index is named without a server path) and a
symbolic link swapped in while the index runs. Real files, the real `rag`
command, the UI served on 127.0.0.1 and driven by gradio_client."""

from __future__ import annotations

import threading
import time

import pytest
from faultkit import hash_env, nested_form_pdf, out, run_rag

from rag import Settings, ask, build_index

pytestmark = pytest.mark.slow

SECRET = "The vault combination is 31-41-59, kept by Oskar Lindqvist."


def test_a_pdf_that_nests_forms_is_skipped_named_and_the_rest_indexed(corpus, tmp_path):
    (corpus / "forms.pdf").write_bytes(nested_form_pdf())
    t0 = time.monotonic()
    proc = run_rag(["index"], hash_env(corpus, tmp_path / "index"), timeout=300)
    text = out(proc)
    assert proc.returncode == 0, text
    assert "files added: 5" in text and "skipped: 1" in text
    assert "skipped forms.pdf: took more than 20 s of CPU to read" in text  # the budget of a file under 1 MB
    assert time.monotonic() - t0 < 240
    a = ask("When did Tillerson travel to Tokyo?", settings=Settings(corpus_dir=corpus, index_dir=tmp_path / "index",
                                                                       embedding="hash", chunk_size=200,
                                                                       chunk_overlap=20))
    assert a.citations and a.citations[0].source.endswith(".txt")


def test_a_hostile_upload_never_holds_up_another_users_upload(corpus, tmp_path):
    """The Corpus tab: one user's crafted PDF is checked in its own worker; another
    user's 45-byte note is added meanwhile, and the PDF is refused and named."""
    import ui  # noqa: F401  (offline environment for gradio)
    from gradio_client import Client, handle_file

    from ui.app import build_app, serve

    from conftest import free_port

    # A budget of 8 CPU s instead of the default 20 (which the test above holds `rag index` to): the
    # PDF is still checked for longer than the note takes, and refused 12 s sooner.
    s = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", embedding="hash", parse_timeout=8)
    build_index(s, progress=False)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "forms.pdf").write_bytes(nested_form_pdf())
    (tmp_path / "b" / "note.txt").write_text("The gate code of the depot is 4471.\n", encoding="utf-8")
    app = build_app(s)
    _, url, _ = serve(app, "127.0.0.1", free_port(), block=False, quiet=True)
    try:
        hostile = Client(url, verbose=False).submit([handle_file(str(tmp_path / "a" / "forms.pdf"))],
                                                    api_name="/upload")
        time.sleep(2)  # the PDF is being checked
        done: dict[str, object] = {}

        def small() -> None:
            done["status"] = Client(url, verbose=False).predict([handle_file(str(tmp_path / "b" / "note.txt"))],
                                                                api_name="/upload")[0]
            done["at"] = time.monotonic()

        t = threading.Thread(target=small)
        t0 = time.monotonic()
        t.start()
        t.join(timeout=90)
        assert "status" in done, "the small upload waited for the hostile one"
        assert "Added:</b> <code>note.txt</code>" in done["status"]
        assert not hostile.done(), "the hostile PDF was checked faster than expected: the test proves nothing"
        status = hostile.result(timeout=180)[0]
        assert "Refused:</b> forms.pdf: cannot read it (took more than 8 s of CPU to read" in status, status
        assert not (corpus / "forms.pdf").exists() and (corpus / "note.txt").is_file()
        assert done["at"] - t0 < 60
    finally:
        app.close()


def _patched_stat(monkeypatch, after):
    """Run ``after()`` once the files were listed and stat'ed, before any is read:
    what a user (or an attacker) changing the folder during `rag index` does."""
    from rag.ingest import filestate

    real = filestate.stat_files

    def stat_then_change(root, sources, *known):
        out_ = real(root, sources, *known)
        after()
        return out_

    monkeypatch.setattr(filestate, "stat_files", stat_then_change)


def test_a_symlink_swapped_in_after_the_walk_is_never_read(corpus, tmp_path, monkeypatch):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "vault.txt").write_text(SECRET, encoding="utf-8")
    (corpus / "notes.txt").write_text("Ordinary notes about the Tokyo visit.\n", encoding="utf-8")

    def swap():  # the regular file the walk saw becomes a link out of the corpus
        (corpus / "notes.txt").unlink()
        (corpus / "notes.txt").symlink_to(outside / "vault.txt")

    _patched_stat(monkeypatch, swap)
    s = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", embedding="hash")
    report = build_index(s, progress=False)
    assert ("    symbolic link leads outside the corpus folder (it changed while being read) (1): notes.txt"
            in report.summary().splitlines()), report.summary()
    monkeypatch.undo()
    a = ask("What is the vault combination?", settings=s)
    assert "31-41-59" not in a.text and all(c.source != "notes.txt" for c in a.citations)


def test_a_file_that_vanishes_mid_index_is_named_without_a_server_path(corpus, tmp_path, monkeypatch):
    (corpus / "gone.txt").write_text("A file that will not be there when it is read.\n", encoding="utf-8")
    _patched_stat(monkeypatch, lambda: (corpus / "gone.txt").unlink())
    report = build_index(Settings(corpus_dir=corpus, index_dir=tmp_path / "index", embedding="hash"),
                         progress=False)
    summary = report.summary()
    assert "    cannot read it (No such file or directory) (1): gone.txt" in summary.splitlines(), summary
    assert str(corpus) not in "\n".join(s.reason for s in report.skipped)
    assert str(tmp_path) not in summary.split("\n", 1)[1]  # the first line names the index folder, as always


def test_files_are_read_when_the_process_holds_over_a_thousand_descriptors(tmp_path):
    """A server with many open connections has descriptors past select()'s limit of 1024:
    the reading worker's pipes land there, and files must still be read."""
    import resource

    from rag.ingest.loading import document_text

    (tmp_path / "note.txt").write_text("The gate code of the depot is 4471.\n", encoding="utf-8")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        raise AssertionError(f"the test needs 1200 descriptors; the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    held = [open(tmp_path / "note.txt", "rb") for _ in range(1100)]
    try:
        from rag.ingest.loaders import budget

        budget._POOL.close()  # workers started now get descriptors above 1024
        assert document_text(tmp_path / "note.txt") == "The gate code of the depot is 4471.\n"
    finally:
        for f in held:
            f.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
