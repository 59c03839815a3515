"""The seeds suite itself: big enough, every category covered, and every
expected fact really stated in the files the case names (so a case can only
fail because of the answer, never because of a typo in the suite)."""

from __future__ import annotations

from collections import Counter
from functools import lru_cache
from pathlib import Path

import pytest

from evals.normalize import has_fact
from evals.runner import DEFAULT_SUITE, default_suites
from rag.ingest.loading import document_text
from evals.suite import load_suite

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
CATEGORIES = {"facts", "lists", "multi_file", "disambiguation", "who_said", "out_of_corpus", "false_premise",
              "follow_up", "injection"}


def test_seeds_suite_covers_every_category_with_at_least_60_cases():
    suite = load_suite(DEFAULT_SUITE)
    assert suite.corpus == REPO / "seeds"
    counts = Counter(c.category for c in suite.cases)
    assert len(suite.cases) >= 60 and set(counts) == CATEGORIES
    assert all(n >= 5 for n in counts.values()), counts
    assert all(c.history for c in suite.cases if c.category == "follow_up")
    assert all(c.refuse for c in suite.cases if c.category in ("out_of_corpus", "false_premise"))
    bar = {(t.metric, t.category): t.limit for t in suite.thresholds}
    assert bar[("refusal_recall", "out_of_corpus")] == 1.0 and bar[("quote_validity", None)] == 1.0


SUITES = sorted(default_suites())


@lru_cache(maxsize=None)
def _text(path: Path) -> str:
    return " ".join(document_text(path).split())


def _sources(corpus: Path, pattern: str) -> list[Path]:
    """The sources a case names: files (or globs) in the corpus, and attachments inside
    a mail, ``notice.eml#report.pdf`` (the glob is on the mail; document_text reads the part)."""
    name, attached, part = pattern.partition("#")
    return [Path(f"{p}#{part}") if attached else p for p in sorted(corpus.glob(name))]


def test_every_corpus_has_a_tuning_suite_and_a_held_out_split_of_enough_cases():
    names = {p.stem for p in SUITES}
    corpora = {n.removesuffix("-heldout") for n in names}
    assert len(corpora) >= 4 and all(f"{c}-heldout" in names for c in corpora), names
    for path in SUITES:
        suite = load_suite(path)
        refuse = sum(c.refuse for c in suite.cases)
        assert len(suite.cases) >= (20 if path.stem.endswith("-heldout") else 40), path.name
        assert refuse >= 5 and refuse < len(suite.cases) / 2, path.name  # both kinds of question


@pytest.mark.parametrize("path", SUITES, ids=[p.stem for p in SUITES])
def test_every_expected_fact_is_stated_in_the_cases_sources(path):
    suite = load_suite(path)
    for case in suite.cases:
        files = [p for g in case.sources for pattern in g for p in _sources(suite.corpus, pattern)]
        assert len(files) >= sum(len(g) for g in case.sources), case.id  # every named file (or glob) exists
        # As citations see them: every format as extracted (scans by OCR, attachments as their own
        # text), whitespace collapsed. A part a mail does not hold fails here (document_text raises).
        texts = [_text(p) for p in files]
        assert texts or case.refuse, case.id  # also proves every named file exists
        for group in case.facts:
            assert any(has_fact(t, alt) for t in texts for alt in group), (case.id, group)


def test_resolutions_case_matches_the_issue():
    case = next(c for c in load_suite(DEFAULT_SUITE).cases if "resolutions" in c.question.lower())
    assert case.facts == (("2270",), ("2231",))
    assert sorted(p[:4] for g in case.sources for p in g) == ["000_", "001_"]
