"""HTML for the side panels: the source viewer, the sources table, citation rows.

Pure functions of an :class:`~rag.Answer` and the corpus folder, so they are
tested without a browser. Every piece of document text is HTML-escaped: a
corpus file is data, never markup.

>>> from rag import Citation
>>> row = citation_rows_for([Citation(1, "a.txt", "Quoted words.", 0, 13)])[0]
>>> row
['[1]', 'a.txt', '“Quoted words.”']
"""

from __future__ import annotations

import html
from pathlib import Path

from rag import Answer, Citation
from rag.loading import document_text

# Files can be large; the viewer shows this many characters around the quote.
CONTEXT_CHARS = 30_000
QUOTE_PREVIEW = 160

VIEWER_PLACEHOLDER = (
    '<div class="rag-viewer-head"><strong>Source</strong></div><div class="rag-viewer-empty">'
    "Open a citation to read it in its source file, with the quoted passage highlighted.</div>"
)
SOURCES_PLACEHOLDER = '<div class="rag-muted">The files retrieved for an answer appear here.</div>'


def citation_rows_for(citations: list[Citation]) -> list[list[str]]:
    """One row per citation for the clickable citations table."""
    rows = []
    for c in citations:
        quote = " ".join(c.quote.split())
        if len(quote) > QUOTE_PREVIEW:
            quote = quote[:QUOTE_PREVIEW].rsplit(" ", 1)[0] + " …"
        rows.append([f"[{c.marker}]", c.source, f"“{quote}”"])
    return rows


def resolve_source(corpus_dir: Path, source: str) -> Path:
    """The file a citation points to, refusing anything outside the corpus
    (sources come from the index, which another process may have written)."""
    root = Path(corpus_dir).resolve()
    path = (root / source).resolve()
    if not path.is_relative_to(root):
        raise ValueError(f"{source!r} is outside the corpus")
    return path


def source_view_html(corpus_dir: Path, citation: Citation) -> str:
    """The cited file, escaped, with ``quote`` wrapped in ``<mark>``.

    The offsets index into :func:`rag.loading.document_text`, the same text
    the citation was verified against, so the highlight is exact.
    """
    head = (f'<div class="rag-viewer-head"><strong>Source</strong><span class="rag-chip">[{citation.marker}]</span>'
            f'<span class="rag-file">{html.escape(citation.source)}</span>'
            f'<span class="rag-muted">characters {citation.start}–{citation.end}</span></div>')
    try:
        text = document_text(resolve_source(corpus_dir, citation.source))
    except (OSError, ValueError) as exc:
        return head + _notice(f"Cannot open {citation.source}: {exc}")
    if text[citation.start:citation.end] != citation.quote:
        # The file changed after indexing: show it, but do not pretend the quote is there.
        return head + _notice("This file changed since it was indexed; the quoted passage is no longer "
                              "at these offsets. Re-index the corpus.") + _doc(html.escape(text[:CONTEXT_CHARS]))
    lo = max(0, citation.start - CONTEXT_CHARS // 2)
    hi = min(len(text), citation.end + CONTEXT_CHARS // 2)
    body = "".join([
        f'<span class="rag-muted">[… {lo} characters above …]</span>\n' if lo else "",
        html.escape(text[lo:citation.start]),
        f'<mark class="rag-hit" data-rag-hit="{citation.marker}">{html.escape(citation.quote)}</mark>',
        html.escape(text[citation.end:hi]),
        f'\n<span class="rag-muted">[… {len(text) - hi} characters below …]</span>' if hi < len(text) else "",
    ])
    return head + _doc(body)


def sources_html(answer: Answer) -> str:
    """Files retrieved for ``answer``: best fused score, passages, cited markers."""
    if not answer.passages:
        return SOURCES_PLACEHOLDER
    by_file: dict[str, dict] = {}
    for p in answer.passages:
        row = by_file.setdefault(p.source, {"score": 0.0, "dense": None, "n": 0, "markers": []})
        row["score"] = max(row["score"], p.score)
        if p.dense_score is not None:
            row["dense"] = max(row["dense"] or 0.0, p.dense_score)
        row["n"] += 1
    for c in answer.citations:
        if c.source in by_file:
            by_file[c.source]["markers"].append(f"[{c.marker}]")
    top = max(r["score"] for r in by_file.values()) or 1.0
    lines = ['<table class="rag-sources"><thead><tr><th>File</th><th title="fused dense + lexical rank score">'
             'Score</th><th title="best cosine similarity">Cosine</th><th>Chunks</th><th>Cited</th></tr>'
             "</thead><tbody>"]
    for source, r in sorted(by_file.items(), key=lambda kv: -kv[1]["score"]):
        width = round(100 * r["score"] / top)
        dense = "–" if r["dense"] is None else f"{r['dense']:.2f}"
        cited = " ".join(r["markers"]) or '<span class="rag-muted">no</span>'
        lines.append(
            f'<tr class="{"rag-cited" if r["markers"] else ""}"><td class="rag-file">{html.escape(source)}</td>'
            f'<td class="rag-num"><div class="rag-bar"><span style="width:{width}%"></span></div>'
            f'{r["score"]:.4f}</td>'
            f'<td class="rag-num">{dense}</td><td class="rag-num">{r["n"]}</td><td class="rag-num">{cited}</td></tr>')
    lines.append("</tbody></table>")
    return "".join(lines)


def _doc(body: str) -> str:
    return f'<div class="rag-doc">{body}</div>'


def _notice(message: str) -> str:
    return f'<div class="rag-notice">{html.escape(message)}</div>'
