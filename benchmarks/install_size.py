"""Install size and time of rag-citations in fresh virtual environments, one per
set of extras, with the load average around each install (the machine is shared).

    .venv/bin/python benchmarks/install_size.py                    # "", "ui", "ui,eval"
    .venv/bin/python benchmarks/install_size.py "" eval --repo /path/to/other/checkout

Each venv is new (``python3 -m venv``) and pip downloads every wheel again
(nothing is cached on these machines), so the time includes the downloads.
The size is the whole venv on disk (``du``), pip and setuptools included.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def du_mb(path: Path) -> float:
    out = subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True, check=True).stdout
    return int(out.split()[0]) / 1024


def measure(repo: Path, extras: str, work: Path) -> dict:
    venv = work / f"venv-{extras or 'default'}".replace(",", "-")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    spec = f"{repo}[{extras}]" if extras else str(repo)
    load_before = os.getloadavg()[0]
    t = time.perf_counter()
    done = subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", "-e", spec],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - t
    if done.returncode != 0:
        raise SystemExit(f"pip install -e {spec!r} failed:\n{done.stderr[-2000:]}")
    listed = subprocess.run([str(venv / "bin" / "pip"), "list", "--format=freeze", "--disable-pip-version-check"],
                            capture_output=True, text=True, check=True).stdout.split()
    return {"extras": extras or "(none)", "seconds": seconds, "mb": du_mb(venv), "packages": len(listed),
            "load": f"{load_before:.1f} -> {os.getloadavg()[0]:.1f}"}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("extras", nargs="*", default=["", "ui", "ui,eval"], help='sets of extras ("" for none)')
    p.add_argument("--repo", type=Path, default=REPO, help="the checkout to install (default: this one)")
    p.add_argument("--keep", action="store_true", help="keep the venvs (printed) instead of deleting them")
    args = p.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="rag-install-"))
    try:
        print(f"{'extras':<12} {'seconds':>8} {'MB':>7} {'packages':>9}  load (1 min)")
        for extras in args.extras:
            r = measure(args.repo.resolve(), extras, work)
            print(f"{r['extras']:<12} {r['seconds']:>8.0f} {r['mb']:>7.0f} {r['packages']:>9}  {r['load']}", flush=True)
    finally:
        if args.keep:
            print(f"venvs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
