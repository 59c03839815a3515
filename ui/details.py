"""The "Answer details" panel: what went into one answer, as tables a person
reads (the query, timings, the passages retrieved with their scores, the
sentences chosen), with the raw JSON behind a toggle for bug reports. Columns
marked ``rag-wide`` are left out on a phone.

The trace is free-form (:attr:`rag.Answer.trace`): every part is shown only
when present, and every value is escaped.

>>> from rag import Answer
>>> "Retrieved passages" in details_html(Answer("x", trace={"retrieved": [{"source": "a.txt", "score": 0.1}]}))
True
"""

from __future__ import annotations

import json

from rag import Answer

from .viewer import e, file_html

DETAILS_PLACEHOLDER = '<p class="rag-muted">Scores, timings and the query of the selected answer appear here.</p>'
# Trace timing keys in pipeline order, with what the page calls them.
TIMINGS = {"embed_query": "embed the question", "dense": "vector search", "lexical": "keyword search",
           "fusion": "rank fusion", "answer": "compose the answer"}


def details_json(answer: Answer) -> dict:
    """Citations with offsets, warnings and the trace, as plain JSON."""
    out = {"refused": answer.refused, "warnings": list(answer.warnings),
           "citations": [{"marker": c.marker, "source": c.source, "start": c.start, "end": c.end,
                          "quote": c.quote} for c in answer.citations],
           "trace": answer.trace}
    # Traces are free-form (int keys, tuples, numpy floats): make them plain JSON.
    return json.loads(json.dumps(out, default=str))


def details_html(answer: Answer | None) -> str:
    """The panel for ``answer`` (the placeholder without one)."""
    if answer is None:
        return DETAILS_PLACEHOLDER
    trace = answer.trace if isinstance(answer.trace, dict) else {}
    parts = [_summary(answer, trace), _retrieved(answer, trace), _evidence(trace)]
    raw = json.dumps(details_json(answer), indent=1, ensure_ascii=False)
    parts.append(f'<details class="rag-json"><summary>Raw JSON (for bug reports)</summary>'
                 f'<pre tabindex="0">{e(raw)}</pre></details>')
    return "".join(p for p in parts if p)


def _summary(answer: Answer, trace: dict) -> str:
    rows = []
    if trace.get("query") and trace.get("query") != trace.get("question"):
        rows.append(("Searched for", trace["query"]))
    if trace.get("rewrite") not in (None, "", "none"):
        rows.append(("Rewritten", trace["rewrite"]))
    if trace.get("answerer"):
        rows.append(("Answerer", trace["answerer"]))
    rows.append(("Outcome", "refused: not in the corpus" if answer.refused else
                 f"answered with {len(answer.citations)} citation{'s' * (len(answer.citations) != 1)}"))
    if isinstance(trace.get("confidence"), (int, float)):
        rows.append(("Confidence", f"{trace['confidence']:.2f}"))
    for w in answer.warnings:
        rows.append(("Warning", w))
    if isinstance(trace.get("seconds"), (int, float)):
        took = f"{trace['seconds']:.2f} s"
        timings = trace.get("timings") if isinstance(trace.get("timings"), dict) else {}
        steps = [f"{TIMINGS.get(k, k)} {1000 * v:.0f} ms" for k, v in timings.items() if isinstance(v, (int, float))]
        rows.append(("Time", took + (f" ({', '.join(steps)})" if steps else "")))
    body = "".join(f'<tr><th scope="row">{e(k)}</th><td>{e(v)}</td></tr>' for k, v in rows)
    return f'<table class="rag-kvtable"><caption>This answer</caption><tbody>{body}</tbody></table>'


def _num(value, fmt: str = "{:.2f}") -> str:
    return fmt.format(value) if isinstance(value, (int, float)) else "–"


def _retrieved(answer: Answer, trace: dict) -> str:
    rows = trace.get("retrieved")
    if not isinstance(rows, list) or not rows:
        return ""
    spans: dict[str, list[int]] = {}
    for c in answer.citations:
        spans.setdefault(c.source, []).append(c.start)
    body = []
    for i, r in enumerate(r for r in rows if isinstance(r, dict)):
        start, end = r.get("start"), r.get("end")
        used = isinstance(start, int) and isinstance(end, int) and any(
            start <= s < end for s in spans.get(r.get("source"), ()))
        body.append(
            f'<tr{" class=rag-cited" if used else ""}><td class="rag-num" title="fused rank score '
            f'{_num(r.get("score"), "{:.4f}")}">{i + 1}</td>'
            f'<td>{file_html(r.get("source", "?"))}<span class="rag-chars">{_num(start, "{}")}–{_num(end, "{}")}'
            f'</span></td><td class="rag-num">{_num(r.get("dense"))}</td>'
            f'<td class="rag-num rag-wide">{_num(r.get("lexical"))}</td><td>{"yes" if used else "no"}</td></tr>')
    return ('<div class="rag-table-box" tabindex="0" role="region" aria-label="Retrieved passages">'
            '<table class="rag-sources rag-retrieved"><caption>Retrieved passages, in the order rank fusion '
            "put them (its score on the number): file and characters, cosine similarity to the question "
            "(vector search), BM25 keyword score.</caption><thead><tr><th scope=\"col\">#</th>"
            '<th scope="col">File</th><th scope="col">Cosine</th><th scope="col" class="rag-wide">Keywords</th>'
            '<th scope="col">Cited</th></tr></thead><tbody>'
            + "".join(body) + "</tbody></table></div>")


def _evidence(trace: dict) -> str:
    rows = trace.get("evidence")
    if not isinstance(rows, list) or not rows:
        return ""
    body = "".join(
        f'<tr><td>{file_html(r.get("source", "?"))}</td>'
        f'<td class="rag-num rag-wide">{_num(r.get("start"), "{}")}–{_num(r.get("end"), "{}")}</td>'
        f'<td class="rag-num">{_num(r.get("score"))}</td><td class="rag-num">{_num(r.get("dense"))}</td>'
        f'<td class="rag-num">{_num(r.get("cover"))}</td></tr>'
        for r in rows if isinstance(r, dict))
    return ('<div class="rag-table-box" tabindex="0" role="region" aria-label="Sentences chosen">'
            '<table class="rag-sources"><caption>Sentences the extractive answerer chose: its score, the '
            "sentence's cosine to the question, and how much of the question's content it covers (0-1)."
            '</caption><thead><tr><th scope="col">File</th><th scope="col" class="rag-wide">Characters</th>'
            '<th scope="col">Score</th><th scope="col">Cosine</th><th scope="col">Covers</th></tr></thead>'
            "<tbody>" + body + "</tbody></table></div>")
