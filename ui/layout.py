"""The page: settings sidebar, chat with citations and source viewer, corpus tab.

Only layout and wiring live here; the behaviour is in :mod:`ui.handlers`.
The ``api_name``s (``/ask``, ``/upload``, ``/remove``) are the stable surface
for ``gradio_client``.
"""

from __future__ import annotations

from types import SimpleNamespace

import gradio as gr

from rag import Settings
from rag.loading import SUPPORTED_SUFFIXES

from .chat import Conversation
from .corpus import MAX_UPLOAD_BYTES, Corpus
from .handlers import Handlers, model_configured
from .viewer import SOURCES_PLACEHOLDER, VIEWER_PLACEHOLDER

TITLE = "Corpus Q&A"
HEADER = (f'<div id="rag-header"><h1>{TITLE}</h1><span class="rag-sub">Answers quoted from your documents, '
          "every claim cited. Runs offline.</span></div>")
CHAT_PLACEHOLDER = (
    "### Ask about the documents in the corpus\n"
    "Answers quote the files verbatim and number their sources, e.g. **[1]**. "
    "Click a citation on the right to read it in context. When the corpus does not say, the answer says so."
)


def layout(settings: Settings, corpus: Corpus) -> gr.Blocks:
    """Build the Blocks app for ``settings`` (see :func:`ui.app.build_app`)."""
    h = Handlers(settings, corpus)
    with gr.Blocks(title=TITLE) as demo:
        conv = gr.State(Conversation())  # copied per session: conversations never mix
        side = _sidebar(settings, h)
        gr.HTML(HEADER)
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                chat = _chat_tab()
            with gr.Tab("Corpus", id="corpus"):
                files = _corpus_tab(corpus)

        panels = [chat.citations, chat.sources, chat.viewer, chat.details]
        chat.question.submit(h.respond, [chat.question, conv, side.answerer, side.top_k],
                             [chat.question, chat.chatbot, conv, *panels], api_name="ask",
                             concurrency_limit=2, show_progress_on=[chat.chatbot])
        private = dict(api_visibility="private")
        chat.chatbot.select(h.select, [conv], [conv, *panels], **private)
        chat.chatbot.like(h.feedback, [conv], None, **private)
        chat.citations.click(h.open_citation, [chat.citations, conv], [chat.viewer], **private)
        chat.new.click(h.clear, None, [conv, chat.chatbot, *panels], **private)
        chat.chatbot.clear(h.clear, None, [conv, chat.chatbot, *panels], **private)
        side.answerer.change(h.in_use_html, [side.answerer, side.top_k], [side.in_use], **private)
        side.top_k.release(h.in_use_html, [side.answerer, side.top_k], [side.in_use], **private)

        corpus_outputs = [files.table, files.remove_name, side.in_use]
        files.add.click(h.upload, [files.upload], [files.status, files.upload, *corpus_outputs],
                        api_name="upload", concurrency_limit=1, concurrency_id="corpus",
                        show_progress_on=[files.table])
        files.remove.click(h.remove, [files.remove_name], [files.status, *corpus_outputs], api_name="remove",
                           concurrency_limit=1, concurrency_id="corpus", show_progress_on=[files.table])
        # Another session may have changed the corpus since this page was built.
        demo.load(h.corpus_view, None, corpus_outputs, show_progress="hidden", **private)
    return demo


def _sidebar(settings: Settings, h: Handlers) -> SimpleNamespace:
    choices = [("Extractive — quotes, no model (offline)", "extractive")]
    if model_configured(settings):
        choices.append((f"Model — {settings.llm_model} (OpenAI-compatible)", "openai"))
    value = settings.answerer if settings.answerer in [v for _, v in choices] else "extractive"
    with gr.Sidebar(label="Settings", open=True, width=310, elem_id="rag-sidebar"):
        gr.Markdown("### Settings")
        answerer = gr.Radio(choices, value=value, label="Answerer",
                            info=None if model_configured(settings) else
                            "Set RAG_LLM_BASE_URL (or OPENAI_API_KEY) to enable a model.")
        top_k = gr.Slider(1, 20, value=min(settings.top_k, 20), step=1, label="Top-k passages",
                          info="How many chunks retrieval hands to the answerer.")
        gr.Markdown("#### In use")
        in_use = gr.HTML(h.in_use_html(), elem_id="rag-in-use")
    return SimpleNamespace(answerer=answerer, top_k=top_k, in_use=in_use)


def _chat_tab() -> SimpleNamespace:
    with gr.Row(equal_height=False):
        with gr.Column(scale=6, min_width=420):
            chatbot = gr.Chatbot(label="Conversation", show_label=False, height=620, elem_id="rag-chat",
                                 placeholder=CHAT_PLACEHOLDER, buttons=["copy"], feedback_options=("Like", "Dislike"))
            question = gr.Textbox(label="Question", show_label=False, lines=1, max_lines=6,
                                  placeholder="Ask a question about the corpus…", submit_btn="Ask",
                                  elem_id="rag-question", autofocus=True)
            with gr.Row():
                new = gr.Button("New conversation", size="sm", variant="secondary", scale=0)
                gr.Markdown('<span class="rag-muted">Follow-up questions use the conversation. '
                            "Thumbs up/down on an answer is saved with it.</span>")
        with gr.Column(scale=5, min_width=380):
            citations = gr.Dataset(label="Citations · click one to open it", components=["textbox"] * 3,
                                   headers=["#", "File", "Quote"], samples=[], layout="table", type="index",
                                   samples_per_page=8, elem_id="rag-citations")
            # Our own CSS styles these two; document text is escaped in ui.viewer.
            viewer = gr.HTML(VIEWER_PLACEHOLDER, elem_id="rag-viewer", container=True, apply_default_css=False)
            with gr.Accordion("Sources retrieved", open=True):
                sources = gr.HTML(SOURCES_PLACEHOLDER, elem_id="rag-sources", apply_default_css=False)
            with gr.Accordion("Answer details (citations, trace)", open=False):
                details = gr.JSON(label="Answer details", elem_id="rag-details")
    return SimpleNamespace(chatbot=chatbot, question=question, new=new, citations=citations, viewer=viewer,
                           sources=sources, details=details)


def _corpus_tab(corpus: Corpus) -> SimpleNamespace:
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            table = gr.Dataframe(headers=["File", "Type", "Size", "Status"], value=corpus.files(), type="array",
                                 interactive=False, label="Files in the corpus", elem_id="rag-files",
                                 show_search="search", wrap=True)
        with gr.Column(scale=2):
            upload = gr.File(file_count="multiple", file_types=list(SUPPORTED_SUFFIXES), label="Add files",
                             elem_id="rag-upload")
            add = gr.Button("Add to corpus and index", variant="primary")
            gr.Markdown(f'<span class="rag-muted">{", ".join(SUPPORTED_SUFFIXES)} · up to '
                        f"{MAX_UPLOAD_BYTES // (1024 * 1024)} MB each · a file with the same name is replaced "
                        "· only new or changed chunks are embedded.</span>")
            remove_name = gr.Dropdown(choices=corpus.names(), value=None, label="Remove a file",
                                      elem_id="rag-remove")
            remove = gr.Button("Remove from corpus", variant="stop")
            status = gr.Markdown(elem_id="rag-corpus-status")
    return SimpleNamespace(table=table, upload=upload, add=add, remove_name=remove_name, remove=remove,
                           status=status)
