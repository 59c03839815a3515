"""A deterministic synthetic corpus for benchmarks: varied prose with headings.

Files are Markdown (and some plain text) reports, each with a title, sections
under ``##`` headings and paragraphs of sentences drawn from templates over a
few thousand English words, people, places and organisations. The same
``(chunks, seed)`` always gives byte-identical files. Sizes are given in
*chunks* at the default chunking (800 characters, 120 overlap); the count is
an estimate (paragraphs packed greedily, as the splitter does), the benchmark
reports the real one.

Some sentences are recorded as facts with a question whose answer is in one
known file, so the benchmark asks questions that have real answers.

    python benchmarks/corpus.py /tmp/corpus-2k --chunks 2000

>>> info = generate(Path(tempfile.mkdtemp()) / "c", chunks=40)
>>> info["files"] > 3 and len(info["questions"]) > 0
True
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile  # noqa: F401  (used by the doctest)
from pathlib import Path

GENERATOR_VERSION = 1
STAMP = ".corpus.json"  # hidden: the loader skips dot-files
CHUNK_SIZE = 800

TOPICS = {
    "harbour": "ship cargo crane quay tide pilot berth container ferry tug dredging freight warehouse dock",
    "orchard": "apple pear blossom frost pruning harvest cider graft rootstock beehive irrigation orchard",
    "railway": "locomotive timetable signal platform carriage junction freight sleeper gauge depot tunnel",
    "observatory": "telescope comet nebula eclipse spectrum lens dome orbit parallax meteor galaxy star",
    "hospital": "ward surgeon vaccine clinic nurse triage pharmacy fever diagnosis ambulance patient",
    "library": "archive manuscript catalogue reading folio binding scholar index periodical atlas shelf",
    "vineyard": "grape cellar barrel vintage terrace fermentation harvest cork press rootstock tasting",
    "dam": "reservoir turbine spillway sluice concrete hydropower flood silt canal levee pump",
    "theatre": "stage rehearsal playwright costume curtain audience premiere chorus lighting script",
    "fishery": "trawler quota salmon net herring hatchery estuary catch spawning cannery buoy",
    "mine": "shaft ore copper seam ventilation smelter tunnel geologist drill slag lift",
    "school": "teacher curriculum pupil examination classroom timetable headmaster lesson scholarship",
    "bridge": "span girder cable pier suspension truss inspection toll abutment deck arch",
    "airport": "runway terminal hangar control tower freight passenger apron taxiway radar gate",
    "museum": "exhibit curator gallery sculpture fossil restoration loan collection vault visitor",
    "bakery": "flour oven loaf yeast dough pastry rye starter crust kneading mill sugar",
    "forest": "timber ranger canopy seedling wildfire trail clearing beetle sawmill moss",
    "market": "stall trader auction price produce ledger barter wholesale customer scale",
    "garden": "greenhouse compost seedling hedge rose trellis soil bulb lawn fountain pond",
    "laboratory": "sample reagent microscope centrifuge assay enzyme protocol specimen culture flask",
}

NOUNS = """
account agreement allowance analysis approach area arrangement assessment audit balance basis
board boundary budget capacity case change charter choice claim code committee community
comparison condition conference contract cost council course decision delay demand department
design detail development dispute district effect effort estimate evidence exchange expansion
failure feature figure fund growth guidance handbook increase inquiry issue journey labour
lease level limit loan maintenance majority margin measure meeting method minister model
network notice objection office operation option order outcome panel pattern payment period
permit phase plan policy position practice pressure principle priority procedure process
programme project proposal purpose quality range rate record reform region regulation report
request requirement resource response result review risk rule schedule scheme season sector
service shortage site source standard statement strategy structure study subsidy supply survey
system target task team tender term test threshold trial trust unit update value venture
volume warning weather workshop yield archive harbour valley summit village county province
""".split()

VERBS_PAST = """
approved reviewed delayed expanded reduced doubled published announced postponed rejected
confirmed extended restored measured recorded inspected renewed funded questioned adopted
revised completed opened closed replaced examined proposed signed cancelled surveyed
""".split()

VERBS_BASE = """
improve reduce extend replace support protect review measure expand restore finance inspect
simplify monitor publish relocate renovate strengthen modernise coordinate document
""".split()

ADJECTIVES = """
annual regional narrow broad costly modest steady seasonal temporary permanent detailed
northern southern eastern western coastal rural urban historic modern early late rapid
gradual public private independent joint formal informal minor major careful cautious
unexpected routine technical practical careful fragile durable scarce abundant
""".split()

ADVERBS = "quickly slowly quietly openly carefully briefly largely partly firmly gradually".split()

FIRST = """
Ada Alan Amara Anton Beatrix Bruno Carmen Cyrus Dalia Dmitri Edith Elias Farah Felix Greta
Hamid Helena Ivo Ines Jonas Julia Kai Kamala Lars Leila Marco Mirela Nadia Nils Olga Omar
Petra Pavel Quentin Rosa Rafael Selma Soren Tamar Tobias Ursula Viktor Wanda Yusuf Zora
""".split()

LAST = """
Abbott Adeyemi Bergstrom Castellanos Dufresne Eriksen Falkner Gallagher Haddad Ishikawa
Jablonski Kowalczyk Lindqvist Moreau Nakamura Okafor Petrovic Quintero Rahimi Sandoval
Takahashi Underwood Valdivia Whitfield Xenakis Yamamoto Zeller Brennan Carvalho Delacroix
Esposito Fontaine Grimaldi Hargreaves Iversen Jovanovic Kaplan Lindgren Marchetti Novak
""".split()

PLACE_A = "Ash Bel Cor Dun Elm Fen Glen Hol Kings Lin Mar Nor Oak Pen Ros Stan Thorn Wes Wil Yar".split()
PLACE_B = "bridge brook by field ford gate ham haven mere moor port stead ton wick worth".split()

ORG_A = "Northern Southern Coastal Valley Central Royal Civic Regional Municipal Provincial".split()
ORG_B = "Trust Board Authority Council Society Commission Institute Guild Cooperative Agency".split()

MONTHS = "January February March April May June July August September October November December".split()

TEMPLATES = [
    "The {adj} {noun} of the {org} was {verb} in {month} {year} after {number} {topic_pl} were counted.",
    "{person} said the {topic} {noun} would {vbase} the {noun2} before the {adj} season.",
    "In {place}, the {org} {verb} a {noun} covering {number} {topic_pl} and {number2} hectares.",
    "According to {person}, the {topic} at {place} {adv} {verb} its {noun} during {year}.",
    "Residents of {place} {verb} the {adj} {noun}, citing the cost of the {topic}.",
    "A {adj} {topic} was built near {place} in {year}, and the {noun} was {verb} soon after.",
    "The {noun} for the {topic} rose to {number} units, {pct} percent above the {adj} {noun2}.",
    "{person}, who chairs the {org}, argued that the {noun} should {vbase} every {topic}.",
    "Nobody expected the {topic} {noun} to be {verb}; {person} called it {adj}.",
    "Between {year} and {year2}, {place} {verb} its {topic} {noun} {number} times.",
    "The {org} published a {adj} {noun} on the {topic}, which {person} later {verb}.",
    "Each {topic} in {place} keeps a {noun} of every {noun2}, updated {adv}.",
    "Critics noted that the {adj} {noun} had {verb} the {topic} budget by {pct} percent.",
    "When the {topic} closed in {month}, {person} {adv} {verb} the {noun}.",
    "The {noun2} at {place} remains {adj}, although the {topic} {noun} was {verb}.",
    "Why the {org} {verb} the {noun} is still disputed by {person}.",
]

# Facts: one per file, with the question that asks for it.
FACTS = [
    ("{person} became director of the {place} {topic} in {month} {year}.",
     "When did {person} become director of the {place} {topic}?"),
    ("The {place} {topic} cost {number} thousand crowns to build, paid by the {org}.",
     "How much did the {place} {topic} cost to build?"),
    ("The {place} {topic} was designed by {person} and opened on {day} {month} {year}.",
     "Who designed the {place} {topic}?"),
    ("In {year}, the {org} moved the {place} {topic} to {place2}.",
     "Where did the {org} move the {place} {topic}?"),
]

OUT_OF_CORPUS = [
    "What is the capital of France?",
    "Who won the 1998 football world cup?",
    "How tall is Mount Everest?",
]


def _plural(w: str) -> str:
    if w.endswith(("s", "x", "ch", "sh")):
        return w + "es"
    if w.endswith("y") and w[-2] not in "aeiou":
        return w[:-1] + "ies"
    return w + "s"


class _Writer:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    def person(self) -> str:
        return f"{self.r.choice(FIRST)} {self.r.choice(LAST)}"

    def place(self) -> str:
        return self.r.choice(PLACE_A) + self.r.choice(PLACE_B)

    def org(self, topic: str) -> str:
        return f"{self.r.choice(ORG_A)} {topic} {self.r.choice(ORG_B)}".title()

    def fill(self, template: str, subject: str, **fixed: str) -> str:
        r = self.r
        words = TOPICS[subject].split()
        noun = r.choice(NOUNS + words)
        values = {
            "adj": r.choice(ADJECTIVES), "adv": r.choice(ADVERBS), "noun": noun,
            "noun2": r.choice([n for n in NOUNS + words if n != noun]), "verb": r.choice(VERBS_PAST),
            "vbase": r.choice(VERBS_BASE), "topic": r.choice(words), "topic_pl": _plural(r.choice(words)),
            "person": self.person(), "place": self.place(), "place2": self.place(), "org": self.org(subject),
            "month": r.choice(MONTHS), "day": str(r.randint(1, 28)), "year": str(r.randint(1890, 2024)),
            "year2": str(r.randint(1890, 2024)), "number": str(r.randint(2, 950)),
            "number2": str(r.randint(2, 9000)), "pct": str(r.randint(2, 80)),
        }
        values.update(fixed)
        text = template.format(**values)
        return text[0].upper() + text[1:]

    def paragraph(self, topic: str, sentences: int) -> str:
        return " ".join(self.fill(self.r.choice(TEMPLATES), topic) for _ in range(sentences))


def _estimate_chunks(paragraphs: list[str]) -> int:
    """Greedy packing of paragraphs into CHUNK_SIZE pieces, as the splitter does."""
    n, size = 0, 0
    for p in paragraphs:
        if len(p) > CHUNK_SIZE:
            n += 1 + len(p) // (CHUNK_SIZE - 120)
            size = 0
        elif size and size + 2 + len(p) <= CHUNK_SIZE:
            size += 2 + len(p)
        else:
            n, size = n + 1, len(p)
    return max(n, 1)


def document(w: _Writer, number: int, small: bool = False) -> tuple[str, str, dict]:
    """(relative path, text, fact) of file ``number``; ``small``: one short section
    (a corpus of many small files, about one chunk each)."""
    r = w.r
    topic = r.choice(sorted(TOPICS))
    place = w.place()
    title = f"{place} {topic.title()}: {r.choice(ADJECTIVES).title()} {r.choice(NOUNS).title()} " \
            f"{r.choice(['Report', 'Review', 'Notes', 'Survey', 'Minutes', 'Proposal'])}"
    fact_t, question_t = FACTS[number % len(FACTS)]
    fixed = {"place": place, "topic": topic, "person": w.person(), "org": w.org(topic), "place2": w.place()}
    fact = w.fill(fact_t, topic, **fixed)
    question = question_t.format(**fixed)
    # Lengths vary a lot, as in real corpora: mostly short files, a few long ones.
    sections = 1 if small else min(1 + int(r.expovariate(1 / 1.9)), 14)
    paragraphs: list[str] = [title, w.paragraph(topic, r.randint(2, 4))]
    lines = [f"# {title}", "", paragraphs[1], ""]
    fact_at = r.randrange(sections)
    for s in range(sections):
        heading = f"{r.choice(ADJECTIVES).title()} {r.choice(NOUNS)} and the {r.choice(TOPICS[topic].split())}"
        lines += [f"## {heading}", ""]
        paragraphs.append(heading)
        for p in range(1 if small else r.randint(1, 3)):
            text = w.paragraph(topic, r.randint(3, 7))
            if s == fact_at and p == 0:
                text = f"{text} {fact}"
            lines += [text, ""]
            paragraphs.append(text)
    ext = ".txt" if number % 7 == 3 else ".md"
    path = f"{topic}/{number:06d}-{place.lower()}{ext}"
    return path, "\n".join(lines), {"question": question, "source": path, "fact": fact,
                                   "chunks": _estimate_chunks(paragraphs)}


def generate(dest: Path, chunks: int, seed: int = 12, questions: int = 24, files: int | None = None) -> dict:
    """Write a corpus of about ``chunks`` chunks into ``dest`` (reused when its
    stamp says it was made with the same parameters); return its description.
    ``files``: instead, exactly that many small files (about a chunk each)."""
    dest = Path(dest)
    params = {"chunks": chunks, "seed": seed, "version": GENERATOR_VERSION, "questions": questions}
    if files is not None:
        params = {**params, "chunks": None, "files": files}
    stamp = dest / STAMP
    if stamp.exists():
        info = json.loads(stamp.read_text(encoding="utf-8"))
        if info.get("params") == params:
            return info
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest} exists and was not made by this generator with these parameters")
    w = _Writer(seed)
    total, number, facts = 0, 0, []
    while (number < files) if files is not None else (total < chunks):
        path, text, fact = document(w, number, small=files is not None)
        (dest / path).parent.mkdir(parents=True, exist_ok=True)
        (dest / path).write_text(text, encoding="utf-8")
        total += fact["chunks"]
        facts.append(fact)
        number += 1
    # Spread over the corpus and over the kinds of fact.
    step = max(1, len(facts) // questions)
    chosen = sorted({min(i * step + i % len(FACTS), len(facts) - 1) for i in range(questions)})
    picked = [{"question": facts[i]["question"], "source": facts[i]["source"]} for i in chosen]
    info = {"params": params, "files": number, "estimated_chunks": total,
            "questions": picked, "out_of_corpus": OUT_OF_CORPUS}
    stamp.write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    return info


def main() -> None:
    ap = argparse.ArgumentParser(description="Write a deterministic benchmark corpus.")
    ap.add_argument("dest", type=Path)
    ap.add_argument("--chunks", type=int, default=2000)
    ap.add_argument("--files", type=int, help="instead of --chunks: this many small files")
    ap.add_argument("--seed", type=int, default=12)
    args = ap.parse_args()
    info = generate(args.dest, args.chunks, args.seed, files=args.files)
    print(f"{args.dest}: {info['files']} files, about {info['estimated_chunks']} chunks")


if __name__ == "__main__":
    main()
