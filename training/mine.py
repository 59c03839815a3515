"""Mine (question, candidate, label) pairs from document structure, without hand labels.

Reads only the Debian documentation packages of ``training/sources.py`` (the list in
``../shared/TRAINING_SOURCES.md``), through the project's own loaders, so candidates are the
answer units the answerer sees at run time (:func:`rag.retrieval.units.passage_units`, rendered by
:func:`training.relevance.candidate_text`). Each *group* is one question with its positive
candidates (may be none: the asked-for fact is absent) and hard negatives from the same page:

- ``faq``: a question heading and the first unit of the answer under it; negatives are
  other answers of the same FAQ page.
- ``field``: an attribute row of a reference table ("Default: | 5") asked for its subject
  ("What is the default value of KeepAliveTimeout?"); negatives are the subject's other
  rows and prose (same subject, another attribute) and the same row of sibling subjects
  (same attribute, another subject). ``field_absent``: the question for a subject that has
  no such row: every candidate is negative.
- ``table``: a header table row ("Name: bigint; Range: ...") asked for one column of its
  first cell; negatives are the other rows.
- ``define``: a term of a definition list (an option, a setting, a function) and the first
  sentence of its description ("What does --fake-super do?"); negatives are sibling terms'.
- ``default`` / ``default_absent``: "What is the default of X?" against the sentence of X's
  description that states its default, or none.
- ``man``: a man page's sections asked for (what it does, returns, which library, which
  standards, exit status...); negatives are the page's other sections and the same section
  of other pages; ``man_absent`` when the page has no such section.
- ``cloze``: a sentence that states a date, a count, a version or a literal value, asked for
  that value with the value taken out ("When did ... assume the post?" for "... assuming
  the post on Feb. 1"); negatives are the page's sentences on the same topic that state no
  such value. ``cloze_absent``: the same sentence asked for a kind of value it does not
  state (a date of a sentence with none): on topic, and still no answer.
- ``heading``: a section heading turned into a question and the section's first sentence
  (weak supervision, capped per page); negatives are sibling sections.

Usage: ``python -m training.mine DEBDOCS OUT.jsonl [--seed 13]``. Deterministic for a seed.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import re
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from rag.ingest.loaders import parse_text
from rag.objects import Passage
from rag.retrieval.units import Unit, passage_units

from .relevance import candidate_text
from .sources import PACKAGES, package_name

MAX_GROUPS_PER_PAGE = 40
CLOZE_PER_PAGE = 12
NEG_PER_GROUP = 5


@dataclass
class Section:
    key: tuple[str, ...]
    units: list[Unit] = field(default_factory=list)

    @property
    def title(self) -> str:
        return self.key[-1] if self.key else ""

    @property
    def parent(self) -> tuple[str, ...]:
        return self.key[:-1]


@dataclass
class Page:
    package: str
    path: str
    title: str
    sections: dict[tuple[str, ...], Section]
    kinds: dict[str, str]  # title text -> "heading" | "term"


@dataclass
class Group:
    question: str
    positives: list[str]
    negatives: list[str]
    kind: str
    package: str
    path: str


def cand(u: Unit) -> str:
    return candidate_text(u.headings, u.reading)


# -- reading pages ---------------------------------------------------------------------------

def read_page(package: str, root: Path, path: Path) -> Page | None:
    if path.suffix == ".gz":
        raw = gzip.decompress(path.read_bytes()).decode("utf-8", "replace")
        if raw.lstrip().startswith(".so ") or len(raw) < 300:
            return None  # an alias of another page
        # groff -Thtml writes images of tables and equations into its working folder: a scratch one.
        with tempfile.TemporaryDirectory(prefix="groff-") as scratch:
            try:
                html = subprocess.run(["groff", "-t", "-man", "-Thtml"], input=raw, capture_output=True, text=True,
                                      timeout=20, cwd=scratch).stdout
            except subprocess.TimeoutExpired:
                return None
        parsed = parse_text(html, ".html")
    else:
        try:
            parsed = parse_text(path.read_text(encoding="utf-8", errors="replace"), ".html")
        except Exception:  # noqa: BLE001 - a page our loader cannot read is simply not mined
            return None
    text = parsed.text
    if len(text) < 200 or not parsed.blocks or not english(text):
        return None
    passage = Passage("page", str(path), 0, len(text), text, 1.0)
    try:
        units = passage_units(passage, parsed.blocks)
    except Exception:  # noqa: BLE001
        return None
    sections: dict[tuple[str, ...], Section] = {}
    for u in units:
        sections.setdefault(u.headings, Section(u.headings)).units.append(u)
    kinds: dict[str, str] = {}
    title = ""
    for b in parsed.blocks:
        if b.kind in ("heading", "term"):
            t = text[b.start:b.end]
            kinds.setdefault(t, b.kind)
            if not title and b.kind == "heading":
                title = t
    return Page(package, str(path.relative_to(root)), title, sections, kinds)


_COMMON = frozenset("the of and to is in that for with this are be by or it as".split())


def english(text: str) -> bool:
    """Some packages mix translations in: keep pages whose words are mostly English."""
    ws = re.findall(r"[a-z]+", text[:5000].lower())
    return len(ws) > 30 and sum(w in _COMMON for w in ws) / len(ws) > 0.12


def iter_pages(debdocs: Path, rng: random.Random, max_pages: int | None = None):
    for key, globs in PACKAGES.items():
        name = package_name(key)
        root = debdocs / name
        files = sorted({p for g in globs for p in root.glob(g) if p.is_file()})
        if max_pages:
            files = files[:max_pages]
        n = 0
        for f in files:
            page = read_page(name, root, f)
            if page is not None:
                n += 1
                yield page
        print(f"{key}: {n} pages of {len(files)} files", file=sys.stderr, flush=True)


# -- question wording ------------------------------------------------------------------------

def vary(q: str, rng: random.Random) -> str:
    """People type questions in many ways: lower case, no question mark, contractions."""
    r = rng.random()
    if r < 0.15:
        q = q.lower()
    elif r < 0.22:
        q = q[0].lower() + q[1:]
    if rng.random() < 0.15:
        q = q.rstrip("?.")
    if rng.random() < 0.1:
        q = re.sub(r"^What is\b", "What's", q)
    return q


_TYPE_SUFFIX = re.compile(r"\s*\((?:integer|boolean|string|enum|floating point|real|int|bool)\)\s*$", re.I)


def subject_of(title: str, rng: random.Random) -> str | None:
    """The thing a definition or reference section is about, as a user would name it."""
    t = _TYPE_SUFFIX.sub("", title.strip()).rstrip(":").strip()
    t = re.sub(r"\s+Directive$", "", t)
    if not t or len(t) > 60 or t.endswith("?"):
        return None
    # "-f, --force" / "--checksum-choice=STR, --cc=STR": one of the spellings, without the argument.
    if t.startswith("-") and "," in t:
        forms = [f.strip() for f in t.split(",") if f.strip().startswith("-")]
        t = rng.choice(forms) if forms else t
    if t.startswith("-"):
        t = re.split(r"[=\s\[]", t, maxsplit=1)[0]
    return t


_NUMBERED = re.compile(r"^(?:[A-Z]?\d+(?:\.\d+)*\.?|Chapter \d+\.?|Appendix [A-Z]\.?)\s+")
_GENERIC = {"see also", "description", "synopsis", "examples", "example", "notes", "note", "options", "name",
            "introduction", "overview", "summary", "table of contents", "contents", "bugs", "author", "authors",
            "copyright", "files", "environment", "tip", "warning", "caution", "important", "prev", "next",
            "navigation", "index", "references", "acknowledgements", "history", "related topics", "usage"}
_GERUND_BASE = {"Configuring": "configure", "Using": "use", "Creating": "create", "Installing": "install",
                "Running": "run", "Setting": "set", "Changing": "change", "Adding": "add", "Removing": "remove",
                "Writing": "write", "Building": "build", "Getting": "get", "Managing": "manage",
                "Starting": "start", "Stopping": "stop", "Enabling": "enable", "Disabling": "disable",
                "Customizing": "customize", "Defining": "define", "Selecting": "select", "Editing": "edit",
                "Opening": "open", "Saving": "save", "Importing": "import", "Exporting": "export",
                "Inserting": "insert", "Deleting": "delete", "Moving": "move", "Copying": "copy",
                "Printing": "print", "Working": "work", "Specifying": "specify", "Handling": "handle",
                "Controlling": "control", "Choosing": "choose", "Upgrading": "upgrade", "Migrating": "migrate",
                "Debugging": "debug", "Testing": "test", "Formatting": "format", "Converting": "convert",
                "Applying": "apply", "Making": "make", "Finding": "find", "Reading": "read"}


def heading_question(title: str, rng: random.Random) -> str | None:
    t = _NUMBERED.sub("", title.strip()).strip().rstrip(":.")
    if not t or t.lower() in _GENERIC or len(t) > 70 or len(t.split()) > 9 or not re.search(r"[A-Za-z]{3}", t):
        return None
    first, _, rest = t.partition(" ")
    if t.lower().startswith(("how to ", "how do ")):
        return t[0].upper() + t[1:] + "?"
    if first in _GERUND_BASE and rest:
        return rng.choice([f"How do I {_GERUND_BASE[first]} {rest}?", f"How can I {_GERUND_BASE[first]} {rest}?",
                           f"how to {_GERUND_BASE[first]} {rest}"])
    return rng.choice([f"What is {t}?", f"Tell me about {t}.", f"What does the documentation say about {t}?",
                       f"Explain {t}.", f"{t}?"])


def substantive(u: Unit) -> bool:
    """A unit worth offering as an answer: a real sentence, row or item, not a fragment."""
    t = u.text.strip()
    return len(t) >= 25 and len(re.findall(r"[A-Za-z]{2,}", t)) >= 4


# -- generators ------------------------------------------------------------------------------

FIELD_TEMPLATES = {
    "default": ["What is the default value of {s}?", "What's the default for {s}?", "What is {s} set to by default?",
                "default value of {s}?", "If I don't set {s}, what value does it have?", "What does {s} default to?"],
    "syntax": ["What is the syntax of {s}?", "How do I write {s}?", "What arguments does {s} take?",
               "syntax for {s}"],
    "context": ["In which contexts can {s} be used?", "Where is {s} allowed?", "Where can I put {s}?"],
    "module": ["Which module provides {s}?", "What module is {s} in?", "which module do I need for {s}"],
    "description": ["What does {s} do?", "What is {s} for?", "What is {s}?"],
    "compatibility": ["Since which version is {s} available?", "When was {s} added?",
                      "what version introduced {s}"],
    "status": ["What is the status of {s}?"],
    "override": ["What override is needed for {s}?", "Which AllowOverride setting enables {s}?"],
}
DEFAULT_TEMPLATES = FIELD_TEMPLATES["default"]
DEFINE_TEMPLATES = ["What does {s} do?", "What is {s} used for?", "What is {s}?", "Explain {s}.",
                    "what does {s} mean", "How does {s} work?"]
MAN_SECTIONS = {
    "NAME": ["What does {s} do?", "What is {s}?", "what is {s} for"],
    "RETURN VALUE": ["What does {s} return?", "What is the return value of {s}?", "what does {s} return on error"],
    "EXIT STATUS": ["What exit status does {s} return?", "What are the exit codes of {s}?"],
    "VERSIONS": ["Which version added {s}?", "When was {s} added?", "since when is {s} available"],
    "HISTORY": ["When was {s} introduced?", "What is the history of {s}?"],
    "STANDARDS": ["Which standards does {s} conform to?", "Is {s} standardized?"],
    "LIBRARY": ["Which library provides {s}?", "What do I link against to use {s}?"],
    "ENVIRONMENT": ["Which environment variables affect {s}?"],
    "FILES": ["Which files does {s} use?", "what config files does {s} read"],
    "BUGS": ["What are the known bugs of {s}?", "Does {s} have any known bugs?"],
}
_DEFAULT = re.compile(r"\b(?:the default(?: value| setting)? (?:is|was|of)|defaults? to|by default|default:|"
                      r"default value|is the default)\b", re.I)
_LABEL = re.compile(r"^([A-Z][\w /-]{1,25}):\s*\|?\s*(.+)$", re.S)


def field_label(u: Unit) -> tuple[str, str] | None:
    if u.kind not in ("table_row", "field"):
        return None
    m = _LABEL.match(u.text.strip())
    if not m or ";" in m.group(1):
        return None
    return m.group(1).strip().lower(), m.group(2).strip()


_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
CLOZE_KINDS = {
    "date": re.compile(rf"\b(?:(?:on|in|since|until|by|from)\s+)?(?:{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+(?:19|20)\d\d|"
                       rf"\d{{1,2}}\s+{_MONTH}\s+(?:19|20)\d\d|{_MONTH}\s+(?:19|20)\d\d|(?:19|20)\d\d-\d\d-\d\d|"
                       rf"{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?|(?:19|20)\d\d)\b"),
    "version": re.compile(r"\b(?:(?:in|since|from|before|after|as of)\s+)?(?:version|release|v)\s*\d+(?:\.\d+)+\w*\b|"
                          r"\b\d+\.\d+(?:\.\d+)+\b", re.I),
    "number": re.compile(r"\b(?:\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|"
                         r"hundred|thousand)\s+(?!(?:and|or|of|the|to|in)\b)([a-z]{3,}s)\b", re.I),
    "literal": re.compile(r"(?<![\w-])--?[A-Za-z][\w-]+(?:=\S+)?|\b[a-z]+_[a-z_]+\b|\"[^\"\n]{2,30}\"|"
                          r"\b[A-Z][A-Z0-9_]{3,}\b"),
}
# Kinds asked for. Literals (options, names in capitals) are only recognised, to keep them out of
# the question: "which option" questions made this way asked for manual-page section numbers.
CLOZE_ASKED = ("date", "version", "number")
CLOZE_WH = {
    "date": ["When", "On what date", "What date", "when exactly", "In which year"],
    "version": ["In which version", "Since which version", "Which release", "what version"],
    "number": ["How many {noun}", "How many {noun}", "What number of {noun}", "how many {noun}"],
    "literal": ["Which option", "What value", "Which setting", "What"],
}
_AUX = ["", "", "did", "does", "is", "was", "do", "can"]
_DROP = frozenset("the a an of to and that this which it its also then very just".split())


def cloze_question(sentence: str, kind: str, m: re.Match | None, rng: random.Random) -> str | None:
    """A question for the value of ``kind`` in ``sentence`` (``m`` its match, removed from the
    question), or, with ``m`` None, for a value of that kind the sentence does not state."""
    text = sentence
    noun = "items"
    if m is not None:
        if kind == "number":
            noun = m.group(1).lower()
            text = text[:m.start()] + " " + text[m.end(1):]  # the count goes, its noun stays in the wh-phrase
            text = re.sub(rf"\b{re.escape(noun)}\b", " ", text, count=1)
        else:
            text = text[:m.start()] + " " + text[m.end():]
    else:
        nouns = re.findall(r"\b([a-z]{4,}s)\b", sentence)
        noun = rng.choice(nouns) if nouns else "times"
    words = re.findall(r"[\w’'.:/-]+", text)
    words = [w.strip(".:") for w in words if w.strip(".:")]
    if len(words) < 4:
        return None
    if rng.random() < 0.5 and m is not None:
        # The clause around the value, not the whole sentence.
        at = len(re.findall(r"[\w’'.:/-]+", sentence[:m.start()]))
        words = words[max(0, at - 9):at + 7]
    keep = [w for w in words if not (w.lower() in _DROP and rng.random() < 0.6)]
    keep = [w for w in keep if rng.random() > 0.12] or keep
    if len(keep) < 3:
        return None
    if keep[0][:1].isupper() and keep[0][1:].islower() and keep[0].lower() in _COMMON | _DROP:
        keep[0] = keep[0].lower()
    choices = [w for w in CLOZE_WH[kind] if w != "In which year" or (m is not None and re.fullmatch(
        r"(?:\w+\s+)?(?:19|20)\d\d", m.group(0)))]
    if m is None and kind == "date":
        # "When you open a file, ..." answers a "when" question without any date: ask for the date itself.
        choices = ["On what date", "What date", "In which year"]
    wh = rng.choice(choices).format(noun=noun)
    q = " ".join(x for x in [wh, rng.choice(_AUX), " ".join(keep[:18])] if x)
    return q + "?"


def has_kind(text: str, kind: str) -> bool:
    return bool(CLOZE_KINDS[kind].search(text))


def overlap(a: str, b: str) -> int:
    wa = {w for w in re.findall(r"[a-z]{3,}", a.lower()) if w not in _COMMON}
    return len(wa & {w for w in re.findall(r"[a-z]{3,}", b.lower()) if w not in _COMMON})


class Miner:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.groups: list[Group] = []
        self.reservoir: list[str] = []  # candidates from other pages: easy negatives
        self.man_sections: dict[str, list[str]] = defaultdict(list)  # section -> candidates of other pages

    def add(self, page: Page, q: str | None, pos: list[str], neg: list[str], kind: str) -> None:
        if not q:
            return
        neg = [n for n in dict.fromkeys(neg) if n not in pos]
        self.rng.shuffle(neg)
        neg = neg[:NEG_PER_GROUP - 1]
        if self.reservoir:
            neg.append(self.rng.choice(self.reservoir))
        if not neg:
            return
        self.groups.append(Group(vary(q, self.rng), pos, neg, kind, page.package, page.path))

    def page(self, page: Page) -> None:
        start = len(self.groups)
        by_parent: dict[tuple[str, ...], list[Section]] = defaultdict(list)
        for s in page.sections.values():
            if s.key:
                by_parent[s.parent].append(s)
        is_man = page.path.endswith(".gz")
        if is_man:
            self._man(page)
        for parent, sibs in by_parent.items():
            self._faq(page, sibs)
            self._fields(page, sibs)
            self._defines(page, sibs)
            if not is_man:
                self._headings(page, sibs)
        for s in page.sections.values():
            self._tables(page, s)
        self._cloze(page)
        added = self.groups[start:]
        if len(added) > MAX_GROUPS_PER_PAGE:
            keep = self.rng.sample(range(len(added)), MAX_GROUPS_PER_PAGE)
            self.groups[start:] = [added[i] for i in sorted(keep)]
        units = [u for s in page.sections.values() for u in s.units if substantive(u)]
        for u in self.rng.sample(units, min(3, len(units))):
            self.reservoir.append(cand(u))
        if len(self.reservoir) > 5000:
            self.reservoir = self.rng.sample(self.reservoir, 2500)

    def _faq(self, page: Page, sibs: list[Section]) -> None:
        faqs = [s for s in sibs if s.title.rstrip().endswith("?") and 3 <= len(s.title.split()) <= 30
                and any(substantive(u) for u in s.units)]
        if len(faqs) < 2:
            return
        for s in faqs:
            answer = [u for u in s.units if substantive(u)]
            pos = [cand(answer[0])]
            if answer[0].text.rstrip().endswith(":") and len(answer) > 1:
                pos.append(cand(answer[1]))
            others = [cand(u) for o in faqs if o is not s for u in o.units[:2] if substantive(u)]
            q = re.sub(r"^\s*(?:Q:|[A-Z]?\d+(?:\.\d+)*\.?)\s*", "", s.title).strip()
            self.add(page, q, pos, others, "faq")

    def _fields(self, page: Page, sibs: list[Section]) -> None:
        rows: dict[int, dict[str, Unit]] = {}
        for i, s in enumerate(sibs):
            labelled = {}
            for u in s.units:
                fl = field_label(u)
                if fl:
                    labelled.setdefault(fl[0], u)
            if len(labelled) >= 3:
                rows[i] = labelled
        if len(rows) < 2:
            return
        labels = Counter(lab for r in rows.values() for lab in r)
        for i, labelled in rows.items():
            s = sibs[i]
            subj = subject_of(s.title, self.rng)
            if not subj:
                continue
            prose = [cand(u) for u in s.units if u.kind == "sentence" and substantive(u)]
            for label, u in labelled.items():
                templates = FIELD_TEMPLATES.get(label)
                if label == "compatibility" and not re.search(r"\d", u.text):
                    continue  # "NetWare only" says nothing about when
                if templates is None:
                    if labels[label] < 3 or len(label) > 20:
                        continue
                    templates = ["What is the {l} of {s}?", "{s} {l}?"]
                same_subject = [cand(v) for lab, v in labelled.items() if lab != label]
                if label != "description":
                    same_subject += [p for p in prose if label not in p.lower()]
                other_subject = [cand(r[label]) for j, r in rows.items() if j != i and label in r]
                self.rng.shuffle(other_subject)
                q = self.rng.choice(templates).format(s=subj, l=label)
                self.add(page, q, [cand(u)], same_subject[:3] + other_subject[:2], "field")
            # The same attribute asked of a subject that lacks it.
            missing = [lab for lab in labels if labels[lab] >= 3 and lab not in labelled and lab in FIELD_TEMPLATES]
            for label in missing[:1]:
                if label == "default" and any(_DEFAULT.search(p) for p in prose):
                    continue
                q = self.rng.choice(FIELD_TEMPLATES[label]).format(s=subj)
                neg = [cand(v) for v in labelled.values()] + prose[:2]
                neg += [cand(r[label]) for j, r in rows.items() if j != i and label in r][:2]
                self.add(page, q, [], neg, "field_absent")

    def _defines(self, page: Page, sibs: list[Section]) -> None:
        terms = [s for s in sibs if page.kinds.get(s.title) == "term" and not s.title.rstrip().endswith("?")
                 and any(substantive(u) for u in s.units)]
        if len(terms) < 3:
            return
        firsts = {id(s): next(u for u in s.units if substantive(u)) for s in terms}
        defaults = {id(s): [u for u in s.units if _DEFAULT.search(u.text)] for s in terms}
        for s in terms:
            subj = subject_of(s.title, self.rng)
            if not subj or len(subj) < 2:
                continue
            others = [cand(firsts[id(o)]) for o in terms if o is not s]
            self.rng.shuffle(others)
            first = firsts[id(s)]
            q = self.rng.choice(DEFINE_TEMPLATES).format(s=subj)
            self.add(page, q, [cand(first)], others[:4], "define")
            own = [cand(u) for u in s.units if substantive(u) and "default" not in u.text.lower()]
            other_defaults = [cand(u) for o in terms if o is not s for u in defaults[id(o)][:1]]
            self.rng.shuffle(other_defaults)
            q = self.rng.choice(DEFAULT_TEMPLATES).format(s=subj)
            if defaults[id(s)]:
                self.add(page, q, [cand(defaults[id(s)][0])], own[:3] + other_defaults[:2], "default")
            elif self.rng.random() < 0.5 and own:
                self.add(page, q, [], own[:3] + other_defaults[:2], "default_absent")

    def _tables(self, page: Page, s: Section) -> None:
        rows = [u for u in s.units if u.kind == "table_row" and u.text.count(": ") >= 2 and ";" in u.text]
        if len(rows) < 3:
            return
        parsed = []
        for u in rows:
            cells = [c.split(":", 1) for c in u.text.split("; ") if ":" in c]
            if len(cells) >= 2:
                parsed.append((u, [(h.strip(), v.strip()) for h, v in cells]))
        for u, cells in self.rng.sample(parsed, min(4, len(parsed))):
            subj = cells[0][1]
            if not subj or len(subj) > 40:
                continue
            header, _ = self.rng.choice(cells[1:])
            if len(header) > 30:
                continue
            q = self.rng.choice(["What is the {h} of {s}?", "{s}: what is its {h}?", "Which {h} does {s} have?"]) \
                .format(h=header.lower(), s=subj)
            self.add(page, q, [cand(u)], [cand(v) for v, _ in parsed if v is not u], "table")

    def _man(self, page: Page) -> None:
        top = {}
        for key, s in page.sections.items():
            if len(key) >= 1 and key[-1].isupper() and key[-1] not in top:
                top[key[-1]] = s
        name = top.get("NAME")
        if name is None or not name.units:
            return
        line = name.units[0].text
        names = [n.strip() for n in line.split(" - ")[0].split(",") if n.strip()]
        if not names or len(names[0]) > 40:
            return
        subj = self.rng.choice(names[:3])
        if page.path.split("/")[-2] in ("man2", "man3"):
            subj = subj if self.rng.random() < 0.5 else f"{subj}()"
        for sec, templates in MAN_SECTIONS.items():
            s = top.get(sec)
            other = [cand(u) for k, t in top.items() if k != sec for u in t.units[:2] if substantive(u)]
            elsewhere = self.man_sections.get(sec, [])
            q = self.rng.choice(templates).format(s=subj)
            if s is not None and s.units and substantive(s.units[0]):
                pos = [cand(s.units[0])]
                self.add(page, q, pos, other[:3] + self.rng.sample(elsewhere, min(2, len(elsewhere))), "man")
                self.man_sections[sec].append(pos[0])
                if len(self.man_sections[sec]) > 400:
                    self.man_sections[sec] = self.man_sections[sec][-200:]
            elif sec in ("RETURN VALUE", "VERSIONS", "EXIT STATUS", "STANDARDS", "ENVIRONMENT") and \
                    self.rng.random() < 0.4 and other:
                self.add(page, q, [], other[:3] + self.rng.sample(elsewhere, min(2, len(elsewhere))), "man_absent")

    def _cloze(self, page: Page) -> None:
        sents = [u for s in page.sections.values() for u in s.units
                 if u.kind in ("sentence", "list_item") and 8 <= len(u.text.split()) <= 45]
        if len(sents) < 4:
            return
        def near(u: Unit, q: str, kind: str) -> list[Unit]:
            """The page's three sentences closest to ``q`` that state no value of ``kind``:
            on the same topic, not an answer."""
            return sorted((v for v in sents if v is not u and not has_kind(v.text, kind)),
                          key=lambda v: -overlap(q, v.text))[:3]

        made = 0
        for u in self.rng.sample(sents, len(sents)):
            if made >= CLOZE_PER_PAGE:
                break
            kinds = [k for k in CLOZE_ASKED if has_kind(u.text, k)]
            if kinds:
                kind = self.rng.choice(kinds)
                found = list(CLOZE_KINDS[kind].finditer(u.text))
                m = self.rng.choice(found)
                q = cloze_question(u.text, kind, m, self.rng)
                if not q:
                    continue
                other = [v for v in sents if v is not u and has_kind(v.text, kind) and overlap(q, v.text) <= 1]
                neg = [cand(v) for v in near(u, q, kind) + self.rng.sample(other, min(1, len(other)))]
                self.add(page, q, [cand(u)], neg, "cloze")
                made += 1
            absent = [k for k in ("date", "version", "number") if k not in kinds]
            if absent and self.rng.random() < 0.5:
                kind = self.rng.choice(absent)
                q = cloze_question(u.text, kind, None, self.rng)
                if not q:
                    continue
                self.add(page, q, [], [cand(u)] + [cand(v) for v in near(u, q, kind)], "cloze_absent")
                made += 1

    def _headings(self, page: Page, sibs: list[Section]) -> None:
        heads = [s for s in sibs if page.kinds.get(s.title) == "heading" and s.units and substantive(s.units[0])
                 and s.units[0].kind == "sentence" and not s.title.rstrip().endswith("?")]
        if len(heads) < 2:
            return
        for s in self.rng.sample(heads, min(3, len(heads))):
            q = heading_question(s.title, self.rng)
            others = [cand(o.units[0]) for o in heads if o is not s]
            self.add(page, q, [cand(s.units[0])], others, "heading")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("debdocs", type=Path, help="folder with the unpacked packages (training/sources.py)")
    ap.add_argument("out", type=Path, help="output JSON lines, one group per line")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--max-pages", type=int, default=None, help="per package (for a quick try)")
    args = ap.parse_args(argv)
    miner = Miner(args.seed)
    per_file: Counter = Counter()
    for page in iter_pages(args.debdocs, miner.rng, args.max_pages):
        before = len(miner.groups)
        miner.page(page)
        per_file[(page.package, page.path)] = len(miner.groups) - before
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as f:
        for g in miner.groups:
            f.write(json.dumps(g.__dict__, ensure_ascii=False) + "\n")
    kinds = Counter(g.kind for g in miner.groups)
    pkgs = Counter(g.package for g in miner.groups)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    summary = {"groups": len(miner.groups), "pairs": sum(len(g.positives) + len(g.negatives) for g in miner.groups),
               "by_kind": dict(sorted(kinds.items())), "by_package": dict(sorted(pkgs.items())),
               "files": {f"{p}:{f}": n for (p, f), n in sorted(per_file.items()) if n}, "sha256": digest,
               "seed": args.seed}
    args.out.with_suffix(".summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps({k: v for k, v in summary.items() if k != "files"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
