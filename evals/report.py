"""Presenting eval results: the printed summary, the Markdown report, the PNG
chart of per-category scores, and the case-by-case comparison of two runs.

All functions take the JSON-ready result dict the runner writes.

>>> print(fmt(0.9167, "fact_accuracy"), fmt(1.234, "latency_p95_s"), fmt(None, "mrr"))
91.7% 1.23s n/a
"""

from __future__ import annotations

from pathlib import Path

from rag.extras import require

# (key, short column title) in display order.
COLUMNS = [("pass_rate", "pass"), ("fact_accuracy", "facts"), ("retrieval_recall", "ret@k"), ("mrr", "MRR"),
           ("citation_precision", "citP"), ("citation_recall", "citR"), ("quote_validity", "quotes"),
           ("refusal_precision", "refP"), ("refusal_recall", "refR"), ("answerable_refused", "ansRef"),
           ("latency_p50_s", "p50"),
           ("latency_p95_s", "p95")]
CHART_METRICS = ["pass_rate", "fact_accuracy", "retrieval_recall", "citation_precision", "citation_recall",
                 "refusal_recall"]


def fmt(value, metric: str) -> str:
    if value is None:
        return "n/a"
    if metric.endswith("_s"):
        return f"{value:.2f}s"
    if metric == "mrr":
        return f"{value:.3f}"
    return f"{100 * value:.1f}%"


def table(headers: list[str], rows: list[list[str]], markdown: bool = False) -> str:
    """An aligned plain-text table, or a Markdown one."""
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    line = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def category_rows(result: dict) -> list[list[str]]:
    rows = []
    for name, m in [*result["by_category"].items(), ("ALL", result["summary"])]:
        rows.append([name, str(m["cases"])] + [fmt(m[k], k) for k, _ in COLUMNS])
    return rows


def threshold_rows(result: dict) -> list[list[str]]:
    return [[t["metric"] + (f" [{t['category']}]" if t["category"] else ""), fmt(t["value"], t["metric"]),
             {"max": "<= ", "min": ">= "}.get(t["kind"], "> ") + fmt(t["limit"], t["metric"])
             + (" (top-chunk)" if t["kind"] == "above top-chunk" else ""),
             {True: "ok", False: "MISSED", None: "n/a"}[t["ok"]]] for t in result["thresholds"]]


def summary_text(result: dict) -> str:
    """The table printed at the end of a run."""
    s = result["summary"]
    head = (f"Suite {result['suite']} ({s['cases']} cases, answerer {result['answerer']}): "
            f"{s['passed']}/{s['cases']} passed, {s['errors']} errors, {result['seconds']:.1f}s")
    parts = [head, "", table(["category", "n"] + [c for _, c in COLUMNS], category_rows(result))]
    if result["thresholds"]:
        parts += ["", table(["threshold", "value", "limit", "status"], threshold_rows(result))]
    parts += ["", "RESULT: " + ("PASS" if result["passed"] else "FAIL (a threshold was missed)")]
    return "\n".join(parts)


def markdown(result: dict, chart_name: str | None) -> str:
    """The Markdown report: verdict, thresholds, per-category metrics, failures."""
    s = result["summary"]
    out = [f"# Eval report: {result['suite']}", "",
           f"- result: **{'PASS' if result['passed'] else 'FAIL'}** ({s['passed']}/{s['cases']} cases passed)",
           f"- answerer: `{result['answerer']}`, top_k {result['top_k']}, corpus `{result['corpus']}`",
           f"- suite file: `{result['suite_path']}`; run at {result['started_at']} in {result['seconds']:.1f}s "
           f"(start-up {result['startup_seconds']:.1f}s)", ""]
    if result["thresholds"]:
        out += ["## Thresholds", "", table(["threshold", "value", "limit", "status"], threshold_rows(result),
                                           markdown=True), ""]
    out += ["## Metrics by category", "",
            table(["category", "n"] + [c for _, c in COLUMNS], category_rows(result), markdown=True), "",
            "pass: all checks of a case; facts: every fact group found; ret@k / MRR: expected files among "
            "the retrieved passages; citP / citR: cited files vs expected files; quotes: quotes verbatim at "
            "their offsets; refP / refR: refusal precision / recall; p50 / p95: seconds per question.", ""]
    if chart_name:
        out += [f"![per-category scores]({chart_name})", ""]
    failed = [c for c in result["cases"] if not c["passed"]]
    out += [f"## Failing cases ({len(failed)})", ""]
    for c in failed:
        exp = c["expected"]
        want = "refusal" if exp["refuse"] else "; ".join(" or ".join(g) for g in exp["facts"]) or "(sources only)"
        out += [f"### {c['id']} ({c['category']})", "", f"- question: {c['question']}"]
        if exp["history"]:
            out.append(f"- history: {exp['history']}")
        out += [f"- expected: {want}" + (f"; sources ({exp['sources_mode']}): "
                                         f"{', '.join('|'.join(g) for g in exp['sources'])}" if exp["sources"] else ""),
                f"- answer{' (refused)' if c['refused'] else ''}: {c['answer'] or '(none)'}",
                f"- cited: {', '.join(dict.fromkeys(x['source'] for x in c['citations'])) or 'nothing'}",
                "- why: " + "; ".join(c["failures"]), ""]
    out += ["## All cases", "", table(["id", "category", "result", "seconds"], [
        [c["id"], c["category"], "pass" if c["passed"] else "FAIL", fmt(c["latency_s"], "latency_s")]
        for c in result["cases"]], markdown=True), ""]
    return "\n".join(out)


def chart(result: dict, path: Path) -> Path:
    """Grouped bars of the main rates per category, saved as PNG."""
    matplotlib = require("matplotlib", "eval", "rag eval's charts")
    matplotlib.use("Agg")  # no display on CI or servers
    import matplotlib.pyplot as plt

    cats = list(result["by_category"]) + ["ALL"]
    scopes = [*result["by_category"].values(), result["summary"]]
    fig, ax = plt.subplots(figsize=(max(8.0, 1.3 * len(cats)), 5), dpi=100)
    width = 0.8 / len(CHART_METRICS)
    for i, metric in enumerate(CHART_METRICS):
        values = [m.get(metric) for m in scopes]
        xs = [j + (i - (len(CHART_METRICS) - 1) / 2) * width for j, v in enumerate(values) if v is not None]
        ys = [100 * v for v in values if v is not None]
        ax.bar(xs, ys, width, label=metric.replace("_", " "))
        for x, y in zip(xs, ys):
            if y == 0:  # a zero bar is invisible; missing bars mean "does not apply"
                ax.text(x, 1, "0", ha="center", fontsize=6)
    ax.set_xticks(range(len(cats)), [f"{c}\n(n={m['cases']})" for c, m in zip(cats, scopes)], fontsize=8)
    ax.set_ylim(0, 105)
    ax.set_ylabel("%")
    ax.set_title(f"{result['suite']}: scores by category ({result['answerer']})")
    ax.legend(fontsize=7, ncol=len(CHART_METRICS), loc="upper center", bbox_to_anchor=(0.5, -0.14))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def compare(old: dict, new: dict) -> str:
    """What got better and worse from ``old`` to ``new``, case by case.

    >>> a = {"suite": "s", "summary": {"pass_rate": 0.5}, "cases": [{"id": "x", "passed": False, "failures": ["f"]}]}
    >>> b = {"suite": "s", "summary": {"pass_rate": 1.0}, "cases": [{"id": "x", "passed": True, "failures": []}]}
    >>> print(compare(a, b).splitlines()[-1])
    + x: now passes (was: f)
    """
    rows = []
    for key, _ in COLUMNS:
        o, n = old["summary"].get(key), new["summary"].get(key)
        if o is None and n is None:
            continue
        delta = "" if o is None or n is None else f"{'+' if n >= o else ''}{fmt(n - o, key)}"
        rows.append([key, fmt(o, key), fmt(n, key), delta])
    out = [f"Comparing {old['suite']} -> {new['suite']}", "", table(["metric", "old", "new", "change"], rows), ""]
    old_cases = {c["id"]: c for c in old["cases"]}
    new_cases = {c["id"]: c for c in new["cases"]}
    better, worse, changed = [], [], []
    for cid, n in new_cases.items():
        o = old_cases.get(cid)
        if o is None:
            changed.append(f"  {cid}: new case ({'passes' if n['passed'] else 'fails'})")
        elif n["passed"] and not o["passed"]:
            better.append(f"+ {cid}: now passes (was: {'; '.join(o['failures'])})")
        elif o["passed"] and not n["passed"]:
            worse.append(f"- {cid}: now fails: {'; '.join(n['failures'])}")
        elif o["failures"] != n["failures"]:
            changed.append(f"~ {cid}: still fails, differently: {'; '.join(n['failures'])}")
    changed += [f"  {cid}: removed" for cid in old_cases if cid not in new_cases]
    out.append(f"{len(better)} better, {len(worse)} worse, {len(changed)} other changes")
    return "\n".join(out + worse + changed + better)


def overview(results: list[dict], markdown: bool = False) -> str:
    """One row per suite: the answerer's fact accuracy beside the baseline's
    (and the baseline's lenient "facts anywhere in the answer"), refusals,
    quotes, latency and the threshold verdict."""
    headers = ["suite", "cases", "pass", "facts", "top-chunk facts", "(any length)", "margin", "refR",
               "answerable refused", "quotes", "p50", "p95", "result"]
    rows = []
    for r in results:
        s = r["summary"]
        b = (r.get("baseline") or {}).get("summary") or {}
        margin = (None if s["fact_accuracy"] is None or b.get("fact_accuracy") is None
                  else s["fact_accuracy"] - b["fact_accuracy"])
        rows.append([r["suite"], str(s["cases"]), fmt(s["pass_rate"], "pass_rate"),
                     fmt(s["fact_accuracy"], "fact_accuracy"), fmt(b.get("fact_accuracy"), "fact_accuracy"),
                     fmt(b.get("fact_in_answer"), "fact_accuracy"),
                     "n/a" if margin is None else f"{100 * margin:+.1f}",
                     fmt(s["refusal_recall"], "refusal_recall"),
                     fmt(s.get("answerable_refused"), "answerable_refused"), fmt(s["quote_validity"], "quote_validity"),
                     fmt(s["latency_p50_s"], "latency_p50_s"), fmt(s["latency_p95_s"], "latency_p95_s"),
                     "PASS" if r["passed"] else "FAIL"])
    note = ("facts: fact in the answer, a right file cited, answer <= 400 characters; "
            "(any length): the baseline's facts anywhere in its chunk")
    return table(headers, rows, markdown=markdown) + "\n\n" + note
