"""Eval suites: a YAML file of cases and pass thresholds (format: evals/README.md).

>>> suite = load_suite(Path("evals/seeds.yaml"))  # doctest: +SKIP
>>> suite.cases[0].facts  # all-of groups of any-of alternatives  # doctest: +SKIP
(('Feb. 1', 'February 1'),)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

# Metrics a threshold may name. Latency and answerable_refused thresholds are maxima, all others minima.
METRICS = ("pass_rate", "fact_accuracy", "fact_in_answer", "fact_recall", "retrieval_recall", "mrr", "citation_precision",
           "citation_recall", "quote_validity", "refusal_precision", "refusal_recall", "answerable_refused",
           "latency_p50_s", "latency_p95_s")
MAX_METRICS = ("latency_p50_s", "latency_p95_s", "answerable_refused")

CASE_KEYS = {"id", "question", "category", "history", "facts", "sources", "sources_mode", "refuse",
             "forbidden", "note"}
SUITE_KEYS = {"name", "description", "corpus", "index", "thresholds", "cases"}


class SuiteError(ValueError):
    """The suite file is malformed; the message names the file and the case."""


@dataclass(frozen=True)
class Case:
    """One question and what a good answer must look like.

    ``facts`` and ``sources`` are tuples of groups; each group is a tuple of
    alternatives (any one satisfies the group).
    """

    id: str
    question: str
    category: str = "general"
    history: tuple = ()
    facts: tuple[tuple[str, ...], ...] = ()
    sources: tuple[tuple[str, ...], ...] = ()
    sources_mode: str = "any"
    refuse: bool = False
    forbidden: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Threshold:
    """``metric`` must be >= ``limit`` (<= for latency), overall or in ``category``."""

    metric: str
    limit: float
    category: str | None = None

    @property
    def is_max(self) -> bool:
        return self.metric in MAX_METRICS


@dataclass(frozen=True)
class Suite:
    name: str
    path: Path
    cases: tuple[Case, ...]
    thresholds: tuple[Threshold, ...] = ()
    corpus: Path | None = None     # resolved against the suite file's folder
    index: Path | None = None
    description: str = ""
    categories: tuple[str, ...] = field(default=())


def load_suite(path: Path) -> Suite:
    """Read and validate a suite file; raise :class:`SuiteError` on any mistake."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SuiteError(f"cannot read suite {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise SuiteError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list) or not data["cases"]:
        raise SuiteError(f"{path}: expected a mapping with a non-empty 'cases' list")
    _no_unknown(data, SUITE_KEYS, f"{path}")
    base = path.resolve().parent
    cases = tuple(_case(c, i, path) for i, c in enumerate(data["cases"], start=1))
    seen: set[str] = set()
    for c in cases:
        if c.id in seen:
            raise SuiteError(f"{path}: duplicate case id {c.id!r}")
        seen.add(c.id)
    categories = tuple(dict.fromkeys(c.category for c in cases))
    return Suite(
        name=str(data.get("name") or path.stem), path=path, cases=cases,
        thresholds=_thresholds(data.get("thresholds") or {}, categories, path),
        corpus=_rel(base, data.get("corpus")), index=_rel(base, data.get("index")),
        description=str(data.get("description") or ""), categories=categories,
    )


def _rel(base: Path, value) -> Path | None:
    if value in (None, ""):
        return None
    p = Path(str(value)).expanduser()
    return p if p.is_absolute() else (base / p).resolve()


def _no_unknown(d: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(d) - allowed)
    if unknown:  # a typo such as 'fact:' would otherwise silently check nothing
        raise SuiteError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")


def _case(raw, n: int, path: Path) -> Case:
    where = f"{path}: case #{n}"
    if not isinstance(raw, dict):
        raise SuiteError(f"{where}: expected a mapping")
    if raw.get("id") not in (None, ""):
        where = f"{path}: case {raw['id']!r}"
    _no_unknown(raw, CASE_KEYS, where)
    for key in ("id", "question"):
        if not isinstance(raw.get(key), (str, int)) or not str(raw[key]).strip():
            raise SuiteError(f"{where}: '{key}' is required and must be a non-empty string")
    refuse = raw.get("refuse", False)
    if not isinstance(refuse, bool):
        raise SuiteError(f"{where}: 'refuse' must be true or false")
    mode = raw.get("sources_mode", "any")
    if mode not in ("any", "all"):
        raise SuiteError(f"{where}: 'sources_mode' must be 'any' or 'all'")
    case = Case(
        id=str(raw["id"]), question=str(raw["question"]), category=str(raw.get("category") or "general"),
        history=_history(raw.get("history"), where), facts=_groups(raw.get("facts"), "facts", where),
        sources=_groups(raw.get("sources"), "sources", where), sources_mode=mode, refuse=refuse,
        forbidden=_strings(raw.get("forbidden"), "forbidden", where), note=str(raw.get("note") or ""),
    )
    if refuse and (case.facts or case.sources):
        raise SuiteError(f"{where}: a case with 'refuse: true' cannot also expect facts or sources")
    if not refuse and not (case.facts or case.sources):
        raise SuiteError(f"{where}: give 'facts' and/or 'sources' (or 'refuse: true')")
    return case


def _strings(value, key: str, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(v, (str, int, float)) and str(v).strip() for v in items):
        raise SuiteError(f"{where}: '{key}' must be a string or a list of strings")
    return tuple(str(v) for v in items)


def _groups(value, key: str, where: str) -> tuple[tuple[str, ...], ...]:
    """``[a, [b, c]]`` -> ``(("a",), ("b", "c"))``: all groups, any alternative."""
    if value is None:
        return ()
    if not isinstance(value, list):
        value = [value]
    groups = (_strings(g, key, where) for g in value)
    return tuple(g for g in groups if g)


def _history(value, where: str) -> tuple:
    """Keep the shape ask() accepts: (user, assistant) pairs or role/content dicts."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise SuiteError(f"{where}: 'history' must be a list")
    out: list = []
    for turn in value:
        if isinstance(turn, list) and len(turn) == 2 and all(isinstance(t, str) for t in turn):
            out.append(tuple(turn))
        elif isinstance(turn, dict) and turn.get("role") in ("user", "assistant") and \
                isinstance(turn.get("content"), str):
            out.append({"role": turn["role"], "content": turn["content"]})
        else:
            raise SuiteError(f"{where}: each history turn is [user, assistant] or "
                             "{role: user|assistant, content: text}")
    return tuple(out)


def _thresholds(raw, categories: tuple[str, ...], path: Path) -> tuple[Threshold, ...]:
    if not isinstance(raw, dict):
        raise SuiteError(f"{path}: 'thresholds' must be a mapping of metric: number")
    out: list[Threshold] = []

    def add(items: dict, category: str | None) -> None:
        for metric, limit in items.items():
            if metric not in METRICS:
                raise SuiteError(f"{path}: unknown threshold metric {metric!r}; known: {', '.join(METRICS)}")
            if not isinstance(limit, (int, float)) or isinstance(limit, bool):
                raise SuiteError(f"{path}: threshold {metric} must be a number")
            out.append(Threshold(metric, float(limit), category))

    by_cat = raw.get("categories") or {}
    add({k: v for k, v in raw.items() if k != "categories"}, None)
    if not isinstance(by_cat, dict):
        raise SuiteError(f"{path}: 'thresholds.categories' must map category -> thresholds")
    for cat, items in by_cat.items():
        if cat not in categories:
            raise SuiteError(f"{path}: thresholds for unknown category {cat!r}; "
                             f"categories: {', '.join(categories)}")
        if not isinstance(items, dict):
            raise SuiteError(f"{path}: thresholds for {cat!r} must be a mapping")
        add(items, cat)
    return tuple(out)
