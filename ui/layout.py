"""The page: sidebar (conversations, settings), chat with clickable citations
and the source viewer, corpus tab.

Only layout and wiring live here; the behaviour is in :mod:`ui.handlers` and
:mod:`ui.corpus_panel`, and the browser side (saved conversations, citation
clicks, copy, character counter, phone layout) in ``ui/assets/page.js``. The
``api_name``s (``/ask``, ``/upload``, ``/remove``, ``/restore``) are the
stable surface for ``gradio_client``.
"""

from __future__ import annotations

import threading
from types import SimpleNamespace

import gradio as gr

from rag import Settings
from rag.ingest import SUPPORTED_SUFFIXES

from .chat import Conversation
from .corpus import MAX_UPLOAD_BYTES, Corpus
from .corpus_panel import CorpusPanel
from .handlers import Handlers
from .viewer import CITATIONS_PLACEHOLDER, SOURCES_PLACEHOLDER, VIEWER_PLACEHOLDER

TITLE = "Corpus Q&A"
HEADER = (f'<header id="rag-header"><h1>{TITLE}</h1><span class="rag-sub">Answers quoted from your documents, '
          "every claim cited. Runs offline.</span></header>")
CHAT_PLACEHOLDER = (
    "### Ask about the documents in the corpus\n"
    "Answers quote the files verbatim and number their sources, e.g. **[1]**: click one to read it in "
    "context. When the corpus does not say, the answer says so."
)
REFRESH_SECONDS = 10  # how often an open page checks whether another session changed the corpus
UPLOAD_TYPES = [s for s in SUPPORTED_SUFFIXES]

# The two bridges between the page script and the server (see ui/assets/page.js):
# the inbox sends the script's requests as "select" events, the outbox hands it
# messages from the server (conversations to save). Neither renders anything.
INBOX_JS = "(window.ragQueue = window.ragQueue || []).push(['inbox', trigger]); window.rag && window.rag.drain();"
INBOX_DONE_JS = "() => { window.rag && window.rag.done(); }"
OUTBOX_JS = ("watch('value', () => { (window.ragQueue = window.ragQueue || []).push(['outbox', props.value]); "
             "window.rag && window.rag.drain(); });")


def layout(settings: Settings, corpus: Corpus) -> gr.Blocks:
    """Build the Blocks app for ``settings`` (see :func:`ui.app.build_app`)."""
    h = Handlers(settings, corpus)
    cp = CorpusPanel(corpus, h)
    threading.Thread(target=h.examples, daemon=True, name="rag-examples").start()  # ready by the first page load
    private = dict(api_visibility="private")
    with gr.Blocks(title=TITLE) as demo:
        conv = gr.State(Conversation())  # copied per session: conversations never mix
        seen = gr.State(None)  # the corpus signature this page last showed
        undo_id = gr.State(None)  # the trash entry "Undo" restores
        side = _sidebar(settings)
        gr.HTML(HEADER, padding=False)
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                chat = _chat_tab(settings)
            with gr.Tab("Corpus", id="corpus") as corpus_tab:
                files = _corpus_tab()
        inbox = gr.HTML("", html_template="", js_on_load=INBOX_JS, elem_id="rag-inbox", visible="hidden",
                        label="inbox")
        out_box = gr.HTML("", html_template="", js_on_load=OUTBOX_JS, elem_id="rag-outbox", visible="hidden",
                          label="saved conversation")

        # -- chat --------------------------------------------------------------
        chat_out = [chat.question, chat.notice, chat.chatbot, conv, chat.citations, chat.sources, chat.viewer,
                    chat.details, out_box]  # ui.handlers.CHAT_OUTPUTS
        ask_in = [chat.question, conv, side.answerer, side.top_k]

        def busy():
            return gr.update(submit_btn=False, stop_btn="Stop")

        def idle():
            return gr.update(submit_btn="Ask", stop_btn=False)

        # Enter (or Ask) and a click on an example question both ask; the stop
        # button replaces Ask while an answer streams and cancels either.
        typed = chat.question.submit(busy, None, [chat.question], queue=False, **private)
        picked = chat.chatbot.example_select(h.example, None, [chat.question], **private).then(
            busy, None, [chat.question], queue=False, **private)
        asks = [typed.then(h.respond, ask_in, chat_out, api_name="ask", concurrency_limit=2,
                           show_progress_on=[chat.chatbot]),
                picked.then(h.respond, ask_in, chat_out, concurrency_limit=2, show_progress_on=[chat.chatbot],
                            **private)]
        for ev in asks:
            ev.then(idle, None, [chat.question], queue=False, **private)
        chat.question.stop(h.stop, [conv], chat_out, cancels=asks, **private)
        # One at a time, in order: "close the viewer" then "open [2]" must not swap places. The
        # page sends its next request only when the last one is done (INBOX_DONE_JS tells it);
        # "multiple" so that a request sent after the page gave up waiting is not dropped either.
        inbox.select(h.inbox, [conv], chat_out, show_progress="hidden", concurrency_limit=1,
                     concurrency_id="inbox", trigger_mode="multiple", **private).then(
            None, None, None, js=INBOX_DONE_JS, queue=False, trigger_mode="multiple", **private)
        side.new.click(h.new_conversation, [conv], chat_out, show_progress="hidden", **private)
        chat.chatbot.clear(h.new_conversation, [conv], chat_out, show_progress="hidden", **private)
        chat.chatbot.select(h.select, [conv], chat_out, show_progress="hidden", **private)
        # Every rating is kept: Gradio's default drops a click made while the last one is saved.
        chat.chatbot.like(h.feedback, [conv], None, trigger_mode="multiple", **private)
        side.answerer.change(h.in_use_html, [side.answerer, side.top_k], [side.in_use], **private)
        side.top_k.release(h.in_use_html, [side.answerer, side.top_k], [side.in_use], **private)
        demo.load(h.examples_update, None, [chat.chatbot], show_progress="hidden", **private)

        # -- corpus ------------------------------------------------------------
        view = [files.table, files.remove_name, files.trash_choice, side.in_use, seen]
        # Several at once: each file is checked in its own parsing worker (a slow or hostile upload
        # never holds up another user's), and Corpus serialises the writes to the index itself.
        corpus_job = dict(concurrency_limit=4, concurrency_id="corpus", show_progress_on=[files.table])
        files.add.click(cp.upload, [files.upload], [files.status, files.upload, *view], api_name="upload",
                        **corpus_job).then(h.examples_update, None, [chat.chatbot], **private)
        files.remove.click(cp.confirm_remove, [files.remove_name], [files.status, files.confirm, files.confirm_text],
                           **private)
        files.confirm_yes.click(cp.remove, [files.remove_name], [files.status, files.confirm, files.undo, undo_id,
                                                                 *view], api_name="remove", **corpus_job)
        files.confirm_no.click(cp.cancel, None, [files.confirm, files.status], **private)
        files.undo.click(cp.restore, [undo_id], [files.status, files.undo, *view], api_name="undo", **corpus_job,
                         **private)
        files.restore.click(cp.restore, [files.trash_choice], [files.status, files.undo, *view], api_name="restore",
                            **corpus_job)
        # Another session (or `rag index`) may change the corpus while this page is open.
        refresh = dict(show_progress="hidden", **private)
        gr.Timer(REFRESH_SECONDS).tick(cp.refresh, [seen], view, **refresh)
        corpus_tab.select(cp.refresh, [seen], view, **refresh)
        demo.load(cp.view, None, view, **refresh)
    return demo


def _sidebar(settings: Settings) -> SimpleNamespace:
    choices = [("Extractive — quotes, no model (offline)", "extractive")]
    if settings.model_configured:
        choices.append((f"Model — {settings.llm.model} (OpenAI-compatible)", "openai"))
    value = settings.answer.answerer if settings.answer.answerer in [v for _, v in choices] else "extractive"
    # Closed at first, so it never covers a phone's chat; the page script opens it on wide screens.
    with gr.Sidebar(label="Conversations and settings", open=False, width=300, elem_id="rag-sidebar"):
        new = gr.Button("New conversation", variant="primary", size="sm", elem_id="rag-new")
        gr.HTML('<h2 class="rag-side-title" id="rag-history-title">Conversations</h2>'
                '<p class="rag-muted rag-history-note">Kept in this browser only.</p>'
                '<ul id="rag-history" aria-labelledby="rag-history-title"></ul>', js_on_load=None,
                elem_id="rag-history-box", padding=False)
        gr.HTML('<h2 class="rag-side-title">Settings</h2>', padding=False)
        answerer = gr.Radio(choices, value=value, label="Answerer",
                            info=None if settings.model_configured else
                            "Set RAG_LLM_BASE_URL (or OPENAI_API_KEY) to enable a model.")
        top_k = gr.Slider(1, 20, value=min(settings.retrieval.top_k, 20), step=1, label="Top-k passages",
                          info="How many chunks retrieval hands to the answerer.")
        gr.HTML('<h2 class="rag-side-title">In use</h2>', padding=False)
        in_use = gr.HTML("", elem_id="rag-in-use", js_on_load=None, label="in use")  # filled on load
    return SimpleNamespace(new=new, answerer=answerer, top_k=top_k, in_use=in_use)


def _chat_tab(settings: Settings) -> SimpleNamespace:
    # On a phone the chat column fills the screen (the page script sizes it) and the
    # panels column becomes a full-screen sheet, opened from an answer (see page.css).
    with gr.Row(equal_height=False, elem_id="rag-chat-row"):
        with gr.Column(scale=6, min_width=320, elem_id="rag-chat-col"):
            chatbot = gr.Chatbot(label="Conversation", show_label=False, height="min(620px, 62vh)",
                                 elem_id="rag-chat", placeholder=CHAT_PLACEHOLDER, buttons=["copy"],
                                 feedback_options=("Like", "Dislike"), render_markdown=False,
                                 latex_delimiters=[], sanitize_html=True, autoscroll=False)
            question = gr.Textbox(label="Question", show_label=False, lines=1, max_lines=6,
                                  placeholder="Ask a question about the corpus…", submit_btn="Ask", stop_btn=False,
                                  elem_id="rag-question", autofocus=True)
            with gr.Column(elem_id="rag-input-foot"):
                notice = gr.HTML("", elem_id="rag-notice", js_on_load=None, padding=False, label="notice")
                gr.HTML(f'<span id="rag-counter" data-max="{settings.answer.max_question_chars}" '
                        'aria-live="polite"></span>',
                        elem_id="rag-counter-box", js_on_load=None, padding=False)
        with gr.Column(scale=5, min_width=300, elem_id="rag-side-panels"):
            gr.HTML('<div id="rag-sheet-bar"><span id="rag-sheet-title">Answer details</span>'
                    '<button type="button" id="rag-sheet-close">Close</button></div>', js_on_load=None,
                    padding=False, elem_id="rag-sheet-bar-box", apply_default_css=False)
            citations = gr.HTML(CITATIONS_PLACEHOLDER, elem_id="rag-citations", js_on_load=None, label="citations",
                                apply_default_css=False)
            # Our own CSS styles these; document text is escaped in ui.viewer.
            viewer = gr.HTML(VIEWER_PLACEHOLDER, elem_id="rag-viewer", container=True, apply_default_css=False,
                             label="viewer", js_on_load=None)
            with gr.Accordion("Sources retrieved and answer details", open=True, elem_id="rag-sources-acc"):
                sources = gr.HTML(SOURCES_PLACEHOLDER, elem_id="rag-sources", apply_default_css=False, label="sources",
                                  js_on_load=None)
            with gr.Accordion("Answer details as JSON", open=False, elem_id="rag-details-acc"):
                details = gr.JSON(label="Answer details", elem_id="rag-details")
    return SimpleNamespace(chatbot=chatbot, question=question, notice=notice, citations=citations, viewer=viewer,
                           sources=sources, details=details)


def _corpus_tab() -> SimpleNamespace:
    mb = MAX_UPLOAD_BYTES // (1024 * 1024)
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=300):
            # Empty until the page loads (cp.view): nothing of the corpus is in the page
            # (or its API description) before sign-in.
            table = gr.Dataframe(headers=["File", "Type", "Size", "Status"], value=[], type="array",
                                 interactive=False, label="Files in the corpus", elem_id="rag-files",
                                 show_search="search", wrap=True, column_widths=["50%", "12%", "17%", "21%"])
        with gr.Column(scale=2, min_width=300):
            upload = gr.File(file_count="multiple", file_types=UPLOAD_TYPES, label="Add files", elem_id="rag-upload")
            # Filled by the page script the moment files are chosen: too large or wrong type, and why.
            gr.HTML(f'<div id="rag-upload-check" data-max-bytes="{MAX_UPLOAD_BYTES}" '
                    f'data-types="{" ".join(UPLOAD_TYPES)}" aria-live="polite"></div>', js_on_load=None,
                    padding=False)
            add = gr.Button("Add to corpus and index", variant="primary", elem_id="rag-add")
            gr.HTML(f'<p class="rag-muted">{", ".join(UPLOAD_TYPES)} · up to {mb} MB each · a file with the '
                    "same name is replaced (the old one goes to the trash) · only new or changed chunks are "
                    "embedded.</p>", padding=False)
            remove_name = gr.Dropdown(choices=[], value=None, label="Remove a file",
                                      elem_id="rag-remove", allow_custom_value=True)
            remove = gr.Button("Remove from corpus…", variant="stop", elem_id="rag-remove-btn")
            with gr.Group(visible=False, elem_id="rag-confirm") as confirm:
                confirm_text = gr.HTML("", js_on_load=None, padding=True)
                with gr.Row():
                    confirm_yes = gr.Button("Move to trash", variant="stop", elem_id="rag-confirm-yes")
                    confirm_no = gr.Button("Cancel", variant="secondary", elem_id="rag-confirm-no")
            status = gr.HTML("", elem_id="rag-corpus-status", js_on_load=None, padding=False, label="status")
            undo = gr.Button("Undo", visible=False, variant="secondary", elem_id="rag-undo")
            with gr.Accordion("Trash", open=False, elem_id="rag-trash"):
                trash_choice = gr.Dropdown(choices=[], value=None,
                                           label="Removed files (kept in the index folder)",
                                           elem_id="rag-trash-choice", allow_custom_value=True)
                restore = gr.Button("Restore to the corpus", elem_id="rag-restore")
    return SimpleNamespace(table=table, upload=upload, add=add, remove_name=remove_name, remove=remove,
                           confirm=confirm, confirm_text=confirm_text, confirm_yes=confirm_yes,
                           confirm_no=confirm_no, status=status, undo=undo, trash_choice=trash_choice,
                           restore=restore)
