"""Check an eval suite against its corpus, without running any answerer.

For every answerable case, each fact group must have an alternative stated in
at least one listed source file, in three readings of the file:

- ``visible``: the page as a browser shows it (tags stripped, script/style/svg
  and <head> skipped, every block element *and table cell* separated);
- ``raw``: the file's raw text (what ``tests/test_eval_seeds_suite.py`` reads);
- ``loader``: ``rag.ingest.loading.document_text`` (what the index sees).

A fact missing from ``visible`` is an error. A fact found in ``visible`` but
not in ``loader`` or ``raw`` is a warning: the loader's text differs from what a
reader of the page sees (e.g. adjacent table cells run together), or markup
sits inside the phrase in the raw file (e.g. a link around two of its words),
so a raw-text check such as the seeds suite's test would not find it.

With ``--hints`` it also lists, per case, the corpus files not named in
``sources`` whose visible text holds every fact group: candidates for a
missing source (read them before adding: holding the words is not always
stating the answer).

    python evals/corpora/check_sources.py evals/sqlite-docs.yaml evals/sqlite-docs-heldout.yaml [--hints]

Exit status 1 if any error, else 0.
"""

from __future__ import annotations

import argparse
import re
import sys
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from evals.normalize import has_fact  # noqa: E402
from evals.suite import load_suite  # noqa: E402

_HIDDEN = {"script", "style", "svg", "head", "title", "noscript", "template"}
_BLOCK = {"p", "div", "br", "li", "tr", "td", "th", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6",
          "pre", "table", "ul", "ol", "dl", "blockquote", "section", "article", "header", "footer",
          "caption", "figcaption"}


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


@lru_cache(maxsize=None)
def visible_text(path: Path) -> str:
    raw = path.read_text(encoding="utf-8")
    if path.suffix.lower() not in (".html", ".htm"):
        return raw
    p = _Visible()
    p.feed(raw)
    p.close()
    return re.sub(r"[ \t\r\f\v]+", " ", "".join(p.parts))


@lru_cache(maxsize=None)
def raw_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def loader_text(path: Path) -> str:
    try:
        from rag.ingest.loading import document_text
    except ImportError:  # checking without the package installed
        return visible_text(path)
    return document_text(path)


def _files(corpus: Path, group: tuple[str, ...]) -> list[Path]:
    return [p for pattern in group for p in sorted(corpus.glob(pattern)) if p.is_file()]


def check(suite_path: Path, hints: bool) -> tuple[int, int]:
    suite = load_suite(suite_path)
    corpus = suite.corpus
    if corpus is None or not corpus.is_dir():
        print(f"{suite_path}: no corpus folder ({corpus})")
        return 1, 0
    every = sorted(p for p in corpus.rglob("*") if p.is_file())
    errors = warnings = 0
    for case in suite.cases:
        if case.refuse:
            continue
        files = []
        for group in case.sources:
            found = _files(corpus, group)
            if len(found) < len(group):
                print(f"ERROR {case.id}: a source in {list(group)} matches no file")
                errors += 1
            files += found
        for group in case.facts:
            if not any(has_fact(visible_text(f), alt) for f in files for alt in group):
                print(f"ERROR {case.id}: no alternative of {list(group)} in the visible text "
                      f"of {[str(f.relative_to(corpus)) for f in files]}")
                errors += 1
                continue
            for reading, text_of in (("document_text()", loader_text), ("raw file text", raw_text)):
                if not any(has_fact(text_of(f), alt) for f in files for alt in group):
                    print(f"WARN  {case.id}: {list(group)} is on the page but not in its {reading}")
                    warnings += 1
        if hints and case.facts:
            named = set(files)
            extra = [str(p.relative_to(corpus)) for p in every if p not in named and
                     all(any(has_fact(visible_text(p), alt) for alt in g) for g in case.facts)]
            if extra:
                print(f"hint  {case.id}: facts also in {extra}")
    print(f"{suite_path}: {len(suite.cases)} cases, {errors} errors, {warnings} warnings")
    return errors, warnings


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("suites", nargs="+", type=Path)
    ap.add_argument("--hints", action="store_true", help="list unnamed files that hold every fact")
    args = ap.parse_args(argv)
    total = sum(check(s, args.hints)[0] for s in args.suites)
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
