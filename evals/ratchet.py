"""Set each suite's thresholds to the levels a run reached (a ratchet), so that
losing one answer fails ``rag eval`` and CI.

    .venv/bin/rag eval --out /tmp/run            # every suite, with the top-chunk baseline
    .venv/bin/python -m evals.ratchet /tmp/run   # rewrite the thresholds block of each suite file

Each rate is set one case below what the run measured (rounded down to two
decimals), so the gate catches a lost answer without tripping on a tie that
moves between equally good answers; quote validity stays 1.0 and latency gets a
generous ceiling (CI machines are shared). The rest of each file, comments
included, is left as it is.
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

RATES = ("pass_rate", "fact_accuracy", "refusal_recall")
P95_CEILING_S = 3.0


def levels(result: dict) -> dict[str, float]:
    """Thresholds for one suite's result JSON."""
    s = result["summary"]
    counts = {"pass_rate": s["cases"],
              "fact_accuracy": sum(c["fact_ok"] is not None for c in result["cases"]),
              "refusal_recall": sum(c["refuse_expected"] for c in result["cases"])}
    out: dict[str, float] = {}
    for metric in RATES:
        value, n = s.get(metric), counts[metric]
        if value is None or not n:
            continue
        hits = round(value * n)
        out[metric] = math.floor(100 * max(0, hits - 1) / n) / 100
    # Answerable questions refused: a ceiling one case above the level reached.
    n = sum(not c["refuse_expected"] for c in result["cases"])
    if s.get("answerable_refused") is not None and n:
        out["answerable_refused"] = math.ceil(100 * min(n, round(s["answerable_refused"] * n) + 1) / n) / 100
    out["quote_validity"] = 1.0
    out["latency_p95_s"] = P95_CEILING_S
    # Plainly out-of-corpus questions ("the capital of France") are refused, every one, once reached.
    if (result["by_category"].get("out_of_corpus") or {}).get("refusal_recall") == 1.0:
        out["categories"] = {"out_of_corpus": {"refusal_recall": 1.0}}
    return out


def block(values: dict[str, float], result: dict) -> str:
    date = result.get("started_at", "")[:10]
    s = result["summary"]
    lines = [f"# Ratchet (evals/ratchet.py, run of {date}): one case below the levels reached "
             f"({s['passed']}/{s['cases']} passed).", "thresholds:"]
    for k, v in values.items():
        if k == "categories":
            lines.append("  categories:")
            for cat, limits in v.items():
                lines.append(f"    {cat}:")
                lines += [f"      {m}: {x}" for m, x in limits.items()]
        else:
            lines.append(f"  {k}: {v}")
    return "\n".join(lines) + "\n"


def rewrite(suite_path: Path, new_block: str) -> None:
    text = suite_path.read_text(encoding="utf-8")
    # The old block: an optional ratchet comment, "thresholds:", and its indented lines.
    pattern = re.compile(r"(?:^# Ratchet[^\n]*\n)?^thresholds:[^\n]*\n(?:^[ \t]+[^\n]*\n|^[ \t]*#[^\n]*\n)*", re.M)
    if pattern.search(text):
        text = pattern.sub(new_block, text, count=1)
    else:
        m = re.search(r"^cases:", text, re.M)
        text = text[:m.start()] + new_block + "\n" + text[m.start():]
    suite_path.write_text(text, encoding="utf-8")


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    for path in sorted(Path(argv[0]).glob("*.json")):
        result = json.loads(path.read_text(encoding="utf-8"))
        if "suite_path" not in result:
            continue
        rewrite(Path(result["suite_path"]), block(levels(result), result))
        print(f"{result['suite']}: {levels(result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
