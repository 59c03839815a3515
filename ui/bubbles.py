"""The chat bubbles as HTML, and the plain text "Copy" puts on the clipboard.

The chatbot renders these with markdown off (``render_markdown=False``), so
nothing in a question, an answer or a quoted document is ever parsed as
markdown; everything that is not our own tag is HTML-escaped. Inline ``[n]``
markers become links to the source viewer. Each answer carries its clean copy
text in a hidden element that the page script puts on the clipboard instead of
the bubble's HTML.

>>> from rag import Answer, Citation
>>> copy_text(Answer("Tillerson came. [1]", [Citation(1, "a.txt", "Tillerson came.", 10, 25)]))
'Tillerson came. [1]\\n\\nSources:\\n[1] a.txt (chars 10-25)'
"""

from __future__ import annotations

import re

from rag import Answer
from rag.safety import printable

from .viewer import cite_link, cited_groups, e, file_html, heading_html

MARKER = re.compile(r"\[(\d{1,3})\]")
SEARCHING = "Searching the corpus…"


def paragraphs(text: str, link=None) -> str:
    """Escaped ``text`` as ``<p>`` paragraphs (blank lines) with ``<br>`` line
    breaks; ``link(n)`` returns the HTML for marker ``[n]``, or None to keep it."""
    out = []
    for para in re.split(r"\n\s*\n", text.strip()):
        html = e(para).replace("\n", "<br>")
        if link is not None:
            html = MARKER.sub(lambda m: link(int(m.group(1))) or m.group(0), html)
        out.append(f"<p>{html}</p>")
    return "".join(out)


def user_html(question: str) -> str:
    return f'<div class="rag-question">{paragraphs(question)}</div>'


def copy_text(answer: Answer) -> str:
    """The answer as plain text with its ``[n]`` markers, then one line per source."""
    lines = [answer.text.strip()]
    lines += [f"Warning: {w}" for w in answer.warnings]
    if answer.citations:
        lines.append("Sources:\n" + "\n".join(f"[{c.marker}] {printable(c.source)} (chars {c.start}-{c.end})"
                                               for c in answer.citations))
    return "\n\n".join(lines)


def answer_html(turn: int, answer: Answer) -> str:
    """A finished answer: labels, text with clickable markers, warnings, sources."""
    markers = {c.marker: c for c in answer.citations}

    def link(n: int) -> str | None:
        c = markers.get(n)
        return cite_link(turn, n, title=f"Open source [{n}]: {printable(c.source)}") if c else None

    parts = []
    if answer.refused:
        parts.append('<p class="rag-labels"><span class="rag-badge rag-refused">Not in the corpus</span></p>')
    parts.append(paragraphs(answer.text, link))
    for w in answer.warnings:
        parts.append(f'<p class="rag-warn"><span class="rag-badge rag-warning">Warning</span> {e(w)}</p>')
    if answer.citations:
        # One line per file and section: its markers, then where it is (the path once).
        def links(cs) -> str:
            return " ".join(cite_link(turn, c.marker, title=f"Open source [{c.marker}]: {printable(c.source)}")
                            for c in cs)

        items = [f"<li>{links(cs)} {file_html(source)} {heading_html(heading)}</li>"
                 for source, heading, cs in cited_groups(answer)]
        parts.append(f'<div class="rag-cites"><p class="rag-cites-title">Sources</p><ul>{"".join(items)}</ul></div>')
    if answer.passages:
        parts.append(f'<p class="rag-more-line"><a class="rag-more" href="#rag-more-{turn}">'
                     "Retrieved passages and answer details</a></p>")
    return _with_copy("".join(parts), copy_text(answer))


def streaming_html(text: str) -> str:
    """An answer still arriving: its text so far (markers not yet verified)."""
    if not text.strip():
        return f'<p class="rag-searching">{e(SEARCHING)}</p>'
    return paragraphs(text)


def stopped_html(partial: str, reason: str) -> str:
    """An answer that ended early: what arrived, labelled, with no citations."""
    label = '<p class="rag-labels"><span class="rag-badge rag-stopped">Stopped</span></p>'
    body = paragraphs(partial) if partial.strip() else ""
    note = f'<p class="rag-muted">{e(reason)}</p>'
    return _with_copy(label + body + note, (partial.strip() + "\n\n" if partial.strip() else "") + reason)


def _with_copy(html: str, plain: str) -> str:
    return f'<div class="rag-answer">{html}<span hidden class="rag-copytext">{e(plain)}</span></div>'
