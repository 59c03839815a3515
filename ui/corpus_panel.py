"""Corpus tab handlers: upload, remove (to the trash, after a confirmation),
undo and restore, and a file list that follows changes made by any session.

Every message stays on the page (a status line under the buttons), never only
in a toast; errors never replace the file list. Each handler returns its
outputs in the order the layout wires them (see :mod:`ui.layout`):
``VIEW`` = (file table, remove choices, trash choices, in-use panel, seen signature).
"""

from __future__ import annotations

import html
from pathlib import Path

import gradio as gr
from gradio.utils import get_upload_folder

from rag.safety import printable

from .corpus import Corpus, UploadError
from .handlers import Handlers
from .security import known_paths, public_message


def status_html(lines: list[str], kind: str = "ok") -> str:
    """A persistent status box; ``lines`` are already-escaped HTML."""
    if not lines:
        return ""
    role = "alert" if kind == "error" else "status"
    return f'<div class="rag-status rag-{kind}" role="{role}">' + "".join(f"<p>{x}</p>" for x in lines) + "</div>"


def code(name: str) -> str:
    return f"<code>{html.escape(name)}</code>"


class CorpusPanel:
    """Callbacks of the Corpus tab, over the app's shared :class:`Corpus`."""

    def __init__(self, corpus: Corpus, handlers: Handlers) -> None:
        self.corpus = corpus
        self.h = handlers

    def view(self) -> tuple:
        """(file table, remove choices, trash choices, in-use panel, signature)."""
        trash = [(e.label(), e.id) for e in self.corpus.trash.entries()]
        return (self.corpus.files(), gr.update(choices=self.corpus.names()),
                gr.update(choices=trash, value=trash[0][1] if trash else None),
                self.h.in_use_html(), self.corpus.signature())

    def refresh(self, seen):
        """Timer and tab focus: new view only when something changed (also in
        another session or on disk), so the page does not flicker."""
        if seen is not None and seen == self.corpus.signature():
            return (gr.skip(),) * 5
        return self.view()

    def upload(self, files: list[str] | None, progress=gr.Progress(track_tqdm=True)):
        """Add uploaded files to the corpus and index them. Outputs: status, upload, *VIEW."""
        if not files:
            return (status_html(["Choose one or more files first (documents, spreadsheets, slides, "
                                 "e-books, mail, PDFs or images of text)."], "error"),
                    gr.update(), *self.view())
        uploads = [(Path(f), Path(f).name) for f in files]
        # Only what a client uploaded: a request may name any path (Gradio refuses those it did
        # not upload; this refuses them again if that check is ever skipped).
        folder = Path(get_upload_folder()).resolve()
        if any(not p.resolve().is_relative_to(folder) for p, _ in uploads):
            return status_html(["Refused: only files uploaded from this page can be added."], "error"), \
                gr.update(), *self.view()
        try:
            change = self.corpus.add(uploads, progress=lambda f, msg: progress(f, desc=msg))
        except UploadError as exc:
            return status_html([html.escape(str(exc))], "error"), gr.update(), *self.view()
        except Exception as exc:  # indexing failed: the corpus was rolled back
            return (status_html([html.escape(self._public(f"Nothing was added: {exc}"))], "error"),
                    gr.update(), *self.view())
        lines = []
        if change.added:
            lines.append("<b>Added:</b> " + ", ".join(code(n) for n in change.added))
            r = change.report
            lines.append(f"Index updated: {len(r.files_added)} added, {len(r.files_updated)} updated, "
                         f"{r.chunks_embedded} chunks embedded, {r.chunks_total} in total ({r.seconds:.1f} s).")
        for entry in change.replaced:
            lines.append(f"The previous {code(printable(entry.name))} is in the trash (restore it from there).")
        for err in change.errors:
            lines.append("<b>Refused:</b> " + html.escape(self._public(err)))
        kind = "error" if change.errors and not change.added else "warn" if change.errors else "ok"
        return status_html(lines, kind), None, *self.view()

    def confirm_remove(self, name: str | None):
        """First click on "Remove": ask before moving anything. Outputs: status, confirm group, confirm text."""
        if not name:
            return status_html(["Choose a file to remove first."], "error"), gr.update(visible=False), ""
        if name not in self.corpus.names():
            return (status_html([f"{code(name)} is not a file in the corpus."], "error"),
                    gr.update(visible=False), "")
        text = (f"<p>Move {code(name)} to the trash? It leaves the corpus and the index; "
                "you can undo this or restore it from the trash later.</p>")
        return "", gr.update(visible=True), text

    def remove(self, name: str | None, progress=gr.Progress(track_tqdm=True)):
        """Move a file to the trash and drop its chunks. Outputs: status, confirm
        group, undo button, undo id, *VIEW."""
        if not name:
            return (status_html(["Choose a file to remove first."], "error"), gr.update(visible=False),
                    gr.update(visible=False), None, *self.view())
        try:
            report, entry = self.corpus.remove(name, progress=lambda f, msg: progress(f, desc=msg))
        except UploadError as exc:
            return (status_html([html.escape(str(exc))], "error"), gr.update(visible=False),
                    gr.update(), gr.update(), *self.view())
        except Exception as exc:
            return (status_html([html.escape(self._public(f"Nothing was removed: {exc}"))], "error"),
                    gr.update(visible=False), gr.update(), gr.update(), *self.view())
        status = status_html([f"<b>Moved to the trash:</b> {code(name)}; {report.chunks_removed} chunks dropped, "
                              f"{report.chunks_total} remain. Undo puts it back."])
        return (status, gr.update(visible=False), gr.update(visible=True, value=f"Undo: put {name} back"),
                entry.id, *self.view())

    def cancel(self):
        return gr.update(visible=False), status_html(["Nothing was removed."], "info")

    def restore(self, entry_id: str | None, progress=gr.Progress(track_tqdm=True)):
        """Put a file from the trash back and index it. Outputs: status, undo button, *VIEW."""
        if not entry_id:
            return status_html(["Choose a file in the trash first."], "error"), gr.update(), *self.view()
        try:
            report, entry = self.corpus.restore(entry_id, progress=lambda f, msg: progress(f, desc=msg))
        except UploadError as exc:
            return status_html([html.escape(str(exc))], "error"), gr.update(), *self.view()
        except Exception as exc:
            return (status_html([html.escape(self._public(f"Nothing was restored: {exc}"))], "error"),
                    gr.update(), *self.view())
        status = status_html([f"<b>Restored:</b> {code(printable(entry.name))}; {report.chunks_embedded} chunks embedded, "
                              f"{report.chunks_total} in total."])
        return status, gr.update(visible=False), *self.view()

    def _public(self, text: str) -> str:
        return public_message(str(text), known_paths(self.corpus.settings))
