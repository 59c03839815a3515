"""HTML for the side panels: the citation list, the source viewer, the sources table.

Pure functions of an :class:`~rag.Answer` and the corpus folder, so they are
tested without a browser. Every piece of document text is HTML-escaped: a
corpus file is data, never markup. Citation links are ``<a class="rag-cite"
href="#rag-cite-<turn>-<marker>">``; the page script turns a click on one into
"open this citation" (see ``ui/assets/page.js``).

>>> from rag import Citation
>>> 'href="#rag-cite-0-1"' in citations_html(0, Answer("x [1]", [Citation(1, "a.txt", "Quoted.", 0, 7)]))
True
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from rag import Answer, Citation, Settings
from rag.answer import balance_quotes
from rag.ingest import read_source
from rag.safety import printable

from .security import public_message

# Files can be large; the viewer shows this many characters around the quote.
CONTEXT_CHARS = 30_000
QUOTE_PREVIEW = 160
HEADING_CHARS = 64  # longer heading paths keep their ends and lose their middle
# Cosine similarity levels of the bundled MiniLM (seeds eval: answerable questions'
# best passage has median 0.59; unrelated text stays under ~0.2).
LEVELS = ((0.5, "high"), (0.3, "medium"), (0.0, "low"))

VIEWER_PLACEHOLDER = (
    '<div class="rag-viewer-head"><h2 class="rag-panel-title">Source</h2></div><div class="rag-viewer-empty">'
    "Tap or click a citation such as <b>[1]</b> in an answer to read it in its file, "
    "with the quoted passage highlighted.</div>"
)
CITATIONS_PLACEHOLDER = ('<h2 class="rag-panel-title">Citations</h2>'
                         '<p class="rag-muted">The selected answer\'s citations appear here.</p>')
SOURCES_PLACEHOLDER = '<p class="rag-muted">The files retrieved for an answer appear here.</p>'


def e(text: object) -> str:
    """HTML-escaped text (quotes too: safe inside attributes)."""
    return html.escape(str(text), quote=True)


def cite_link(turn: int, marker: int, label: str | None = None, title: str = "") -> str:
    """A link that opens citation ``marker`` of turn ``turn`` in the viewer."""
    return (f'<a class="rag-cite" href="#rag-cite-{turn}-{marker}" title="{e(title or f"Open source [{marker}]")}">'
            f"{e(label or f'[{marker}]')}</a>")


_SEPARATOR = re.compile(r"([/\\_.\-])")


def file_html(source: str) -> str:
    """A file name, escaped, that wraps after its separators (``/ _ - .``)
    rather than anywhere: ``docs/<wbr>how-<wbr>to/...``.

    >>> file_html("how-to/a_b.md")
    '<span class="rag-file">how-<wbr>to/<wbr>a_<wbr>b.md</span>'
    """
    parts = _SEPARATOR.split(printable(str(source)))  # names come from users' folders: escaped
    body = "".join(e(x) + ("<wbr>" if i % 2 and i < len(parts) - 2 else "") for i, x in enumerate(parts))
    return f'<span class="rag-file">{body}</span>'


def short_heading(path: str, limit: int = HEADING_CHARS) -> str:
    """A heading path shortened in the middle when long: its first and last
    headings stay, as many inner ones as fit around "…".

    >>> short_heading("Guide > Installing > Installers > macOS > GUI installer", 40)
    'Guide > … > macOS > GUI installer'
    """
    parts = [x.strip() for x in path.split(" > ") if x.strip()]
    if len(path) <= limit or len(parts) < 3:
        return path if len(path) <= limit else path[:limit // 2 - 1] + "…" + path[-(limit // 2 - 1):]
    head, tail = [parts[0]], [parts[-1]]
    inner = parts[1:-1]
    while inner:  # add from the end: the nearest headings say most about the passage
        candidate = " > ".join(head + ["…", inner[-1]] + tail)
        if len(candidate) > limit:
            break
        tail.insert(0, inner.pop())
    return " > ".join(head + (["…"] if inner else []) + tail)


def heading_html(path: str, cls: str = "rag-heading") -> str:
    """A heading path, shortened, with the full path as its tooltip ("" if none)."""
    if not path:
        return ""
    short = short_heading(path)
    title = f' title="{e(path)}"' if short != path else ""
    return f'<span class="{cls}"{title}>{e(short)}</span>'


def cited_groups(answer: Answer) -> list[tuple[str, str, list[Citation]]]:
    """The answer's citations grouped by file and section, in marker order:
    ``(source, heading path, citations)``, so a path is shown once per group."""
    groups: dict[tuple[str, str], list[Citation]] = {}
    for c in sorted(answer.citations, key=lambda c: c.marker):
        groups.setdefault((c.source, heading_for(answer, c)), []).append(c)
    return [(src, head, cs) for (src, head), cs in groups.items()]


def quote_preview(quote: str, limit: int = QUOTE_PREVIEW) -> str:
    """A one-line preview of a quote, cut at a word, its quote marks paired.

    >>> quote_preview('"We oppose it. And more.', 14)
    '"We oppose …"'
    """
    q = " ".join(quote.split())
    if len(q) > limit:
        q = q[:limit].rsplit(" ", 1)[0] + " …"
    return balance_quotes(q)


def heading_for(answer: Answer, citation: Citation) -> str:
    """The heading path of the retrieved chunk that holds the citation ("" if none)."""
    for p in answer.passages:
        if p.source == citation.source and p.start <= citation.start < p.end and p.heading_path:
            return p.heading_path
    return ""


def citations_html(turn: int, answer: Answer | None) -> str:
    """The citation list of one answer, grouped by file and section: each
    group's file and (shortened) heading once, then its quotes with their markers."""
    if answer is None or not answer.citations:
        return CITATIONS_PLACEHOLDER
    groups = []
    for source, heading, cites in cited_groups(answer):
        quotes = "".join(
            f'<li>{cite_link(turn, c.marker, title=f"Open [{c.marker}] {printable(c.source)} in the viewer")} '
            f'<span class="rag-quote">{e(quote_preview(c.quote))}</span></li>' for c in cites)
        groups.append(f'<li class="rag-citegroup"><p class="rag-citehead">{file_html(source)}'
                      f"{heading_html(heading)}</p><ul>{quotes}</ul></li>")
    return f'<h2 class="rag-panel-title">Citations</h2><ul class="rag-citelist">{"".join(groups)}</ul>'


def resolve_source(corpus_dir: Path, source: str) -> Path:
    """The file a citation points to, refusing anything outside the corpus
    (sources come from the index, or from a conversation the browser kept)."""
    root = Path(corpus_dir).resolve()
    path = (root / source).resolve()
    if not path.is_relative_to(root):
        raise ValueError(f"{source!r} is outside the corpus")
    return path


def source_view_html(corpus_dir: Path, citation: Citation, heading: str = "", turn: int | None = None,
                     settings: Settings | None = None, request: object = None) -> str:
    """The cited file, escaped, with ``quote`` wrapped in ``<mark>``; prose in
    the page's font, the document's code blocks in monospace; a quote read by
    OCR from a scan says so. ``settings`` read the file as the index did (OCR
    on or off). ``request`` (the page's number for this click) is stamped on
    the Close link when it is a plain whole number, so the page script can tell
    this view from one still on screen from an earlier click of the same citation.

    The offsets index into :func:`rag.ingest.loading.document_text`, the same text
    the citation was verified against, so the highlight is exact.
    """
    plain = isinstance(request, int) and not isinstance(request, bool) and 0 <= request < 2**53
    stamp = f' data-rag-req="{request}"' if plain else ""  # it comes from the browser
    close = (f'<a class="rag-back" href="#rag-back-{turn}-{citation.marker}"{stamp} role="button" '
             f'aria-label="Close the source and go back to the answer">Close</a>' if turn is not None else "")
    head = (f'<div class="rag-viewer-head"><h2 class="rag-panel-title">Source</h2>'
            f'<span class="rag-chip">[{citation.marker}]</span>{file_html(citation.source)}'
            f'<span class="rag-muted">characters {citation.start}–{citation.end}</span>{close}</div>'
            + heading_html(heading, "rag-heading-path"))
    try:
        parsed = read_source(resolve_source(corpus_dir, citation.source), settings, root=Path(corpus_dir))
    except (OSError, ValueError) as exc:
        return head + _notice(public_message(f"Cannot open {printable(citation.source)}: {exc}"))
    text = parsed.text
    code = [(b.start, b.end) for b in parsed.blocks if b.kind == "code"]
    if text[citation.start:citation.end] != citation.quote:
        # The file changed after indexing: show it, but do not pretend the quote is there.
        return head + _notice("This file changed since it was indexed; the quoted passage is no longer "
                              "at these offsets. Re-index the corpus.") + _doc(_spans(text, 0, CONTEXT_CHARS, code))
    if any(a < citation.end and citation.start < b for a, b in parsed.ocr):
        head += ('<div class="rag-ocr-note" role="note">Read by OCR from a scanned image: the text may hold '
                 "recognition errors; check the quote against the original.</div>")
    lo = max(0, citation.start - CONTEXT_CHARS // 2)
    hi = min(len(text), citation.end + CONTEXT_CHARS // 2)
    body = "".join([
        f'<span class="rag-muted">[… {lo} characters above …]</span>\n' if lo else "",
        _spans(text, lo, citation.start, code),
        f'<mark class="rag-hit" id="rag-hit" tabindex="-1" data-rag-hit="{citation.marker}">'
        f"{_spans(text, citation.start, citation.end, code)}</mark>",
        _spans(text, citation.end, hi, code),
        f'\n<span class="rag-muted">[… {len(text) - hi} characters below …]</span>' if hi < len(text) else "",
    ])
    return head + _doc(body)


def _spans(text: str, lo: int, hi: int, code: list[tuple[int, int]]) -> str:
    """``text[lo:hi]`` escaped, its parts inside code blocks in ``<code>``.

    >>> _spans("see: x = 1", 0, 10, [(5, 10)])
    'see: <code class="rag-code">x = 1</code>'
    """
    out, at = [], lo
    for start, end in code:
        start, end = max(start, lo), min(end, hi)
        if start >= end:
            continue
        out.append(e(text[at:start]))
        out.append(f'<code class="rag-code">{e(text[start:end])}</code>')
        at = end
    out.append(e(text[at:hi]))
    return "".join(out)


def level(cosine: float) -> str:
    """"high", "medium" or "low" for a cosine similarity (absolute, not relative);
    cosines run from -1 to 1, and an unrelated text can score below zero.

    >>> level(0.61), level(0.35), level(0.04), level(-0.05)
    ('high', 'medium', 'low', 'low')
    """
    return next((name for floor, name in LEVELS if cosine >= floor), LEVELS[-1][1])


def sources_html(answer: Answer, turn: int | None = None) -> str:
    """Files retrieved for ``answer``: best cosine similarity on an absolute
    0-1 scale (a bar of the same length means the same similarity in every
    answer), chunks, and the citations that point into each file."""
    if not answer.passages:
        return SOURCES_PLACEHOLDER
    by_file: dict[str, dict] = {}
    for p in answer.passages:
        row = by_file.setdefault(p.source, {"score": 0.0, "dense": None, "n": 0, "markers": []})
        row["score"] = max(row["score"], p.score)
        if p.dense_score is not None:
            row["dense"] = max(row["dense"] if row["dense"] is not None else -1.0, p.dense_score)
        row["n"] += 1
    for c in answer.citations:
        if c.source in by_file:
            by_file[c.source]["markers"].append(c.marker)
    lines = ['<div class="rag-table-box" tabindex="0" role="region" aria-label="Sources retrieved">'
             '<table class="rag-sources"><caption>Similarity is the cosine between the question and the best '
             "chunk of the file, on an absolute scale from 0 to 1: on-topic text scores about 0.5 or more, "
             "unrelated text under 0.2. It measures topic, not whether the file answers.</caption>"
             '<thead><tr><th scope="col">File</th><th scope="col">Similarity</th>'
             '<th scope="col" class="rag-wide">Chunks</th><th scope="col">Cited</th></tr></thead><tbody>']
    for source, r in sorted(by_file.items(), key=lambda kv: -(kv[1]["dense"] or 0.0)):
        if r["dense"] is None:
            sim = '<span class="rag-muted" title="found by keywords only">–</span>'
        else:
            cos = r["dense"]
            width = round(100 * min(1.0, max(0.0, cos)))
            sim = (f'<span class="rag-bar" role="img" aria-label="{level(cos)} similarity">'
                   f'<span style="width:{width}%"></span></span>{cos:.2f} '
                   f'<span class="rag-level rag-{level(cos)}">{level(cos)}</span>')
        if r["markers"]:
            cited = " ".join(cite_link(turn, m) if turn is not None else f"[{m}]" for m in r["markers"])
        else:
            cited = '<span class="rag-muted">no</span>'
        lines.append(
            f'<tr class="{"rag-cited" if r["markers"] else ""}"><td>{file_html(source)}</td>'
            f'<td class="rag-num rag-sim" title="rank-fusion score {r["score"]:.4f}">{sim}</td>'
            f'<td class="rag-num rag-wide">{r["n"]}</td><td class="rag-cited-cell">{cited}</td></tr>')
    lines.append("</tbody></table></div>")
    return "".join(lines)


def _doc(body: str) -> str:
    return f'<div class="rag-doc" tabindex="0" role="region" aria-label="Source text">{body}</div>'


def _notice(message: str) -> str:
    return f'<div class="rag-notice" role="alert">{e(message)}</div>'
