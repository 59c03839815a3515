"""The training pipeline's data side (training/): only the allowed packages, and the miner
turns document structure into the question/answer/near-miss groups it claims. Training itself
needs the [train] extra (torch) and an hour: training/README.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from training.mine import Miner, read_page
from training.relevance import candidate_text
from training.sources import PACKAGES, package_name

SOURCES = Path(__file__).resolve().parents[1].parent / "shared" / "TRAINING_SOURCES.md"


def allowed_packages() -> set[str]:
    names: set[str] = set()
    for line in SOURCES.read_text().splitlines():
        m = re.match(r"\|\s*([a-z0-9][^|]*?)\s*\|", line)
        if m and m.group(1) not in ("package",) and not m.group(1).startswith("-"):
            names |= {n.strip() for n in m.group(1).split(",")}
    return names


def test_only_packages_listed_in_training_sources_are_read():
    if not SOURCES.exists():
        pytest.fail(f"{SOURCES} is missing: CI runs with ../shared beside the clone")
    allowed = allowed_packages()
    assert {"apache2-doc", "manpages-dev", "tor"} <= allowed  # the table was parsed
    used = {package_name(k) for k in PACKAGES}
    assert used and used <= allowed, used - allowed


FAQ_PAGE = """<html><body><h1>Frobnicator FAQ</h1>
<h2>How do I change the default port?</h2>
<p>Set the <code>listen_port</code> option in frob.conf and restart the service.</p>
<p>The port must be above 1024 unless the daemon runs as root.</p>
<h2>Why does the daemon exit at start?</h2>
<p>Usually another process already holds the port; stop it or pick another one.</p>
<h2>Can I run two frobnicators on one host?</h2>
<p>Yes, give each its own configuration file and data directory.</p>
</body></html>"""


def test_a_faq_page_gives_question_answer_groups_with_the_neighbouring_answers_as_near_misses(tmp_path):
    page_file = tmp_path / "frob" / "faq.html"
    page_file.parent.mkdir()
    page_file.write_text(FAQ_PAGE)
    page = read_page("frob", tmp_path, page_file)
    assert page is not None
    miner = Miner(seed=13)
    miner.page(page)
    faq = [g for g in miner.groups if g.kind == "faq"]
    assert faq, [g.kind for g in miner.groups]
    by_answer = {g.positives[0]: g for g in faq}
    port = next(g for p, g in by_answer.items() if "listen_port" in p)
    # The right candidate is the answer under the question heading, read as the answerer reads it.
    assert port.positives == ["Frobnicator FAQ > How do I change the default port? | "
                              "Set the listen_port option in frob.conf and restart the service."]
    # The near misses are the page's other answers: same page, same topic, not this question.
    assert port.negatives and not any("listen_port" in n for n in port.negatives)
    assert any("another process already holds the port" in n or "own configuration file" in n
               for n in port.negatives)


def test_candidate_text_is_the_two_nearest_headings_then_the_unit():
    assert candidate_text(("Guide", "Options", "--bind"), "Address to  listen on.") == \
        "Options > --bind | Address to listen on."
    assert candidate_text((), "x" * 500) == "x" * 400
