"""The full-disk scenario of issue 17 rows 7 and 8, run by test_full_disk.py as
root or inside `unshare --user --map-root-user --mount` (it mounts a small
tmpfs, so it needs a mount namespace of its own or root). It prints one JSON
object with what each step printed.

    python tests/faults/full_disk_run.py MOUNT_POINT CORPUS
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from faultkit import big_corpus, hash_env, run_rag  # noqa: E402

QUESTION = "When did Tillerson travel to Tokyo?"


def text(proc) -> str:
    return (proc.stdout + proc.stderr).decode("utf-8", "replace")


def fill(mount: Path, leave_kb: int) -> Path:
    """A file that leaves ``leave_kb`` KB free on the tmpfs."""
    filler = mount / "filler"
    st = os.statvfs(mount)
    free = st.f_bavail * st.f_frsize
    with open(filler, "wb") as f:
        left = max(0, free - leave_kb * 1024)
        block = b"\0" * (1 << 20)
        while left > 0:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n
    return filler


def ask(env) -> dict:
    proc = run_rag(["ask", "--json", QUESTION], env)
    try:
        answer = json.loads(proc.stdout)
    except ValueError:
        answer = None
    return {"rc": proc.returncode, "out": text(proc)[-1500:], "answer": answer}


def main(mount: Path, corpus: Path) -> dict:
    mount.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=120m", "tmpfs", str(mount)], check=True)
    try:
        env = hash_env(corpus, mount / "index")
        result: dict = {"first": text(run_rag(["index"], env))}
        result["before"] = ask(env)
        big_corpus(corpus, copies=8)  # the user adds files
        result["runs"] = []
        for leave_kb in (100, 3000, 20000):
            filler = fill(mount, leave_kb)
            proc = run_rag(["index"], env)
            result["runs"].append({"leave_kb": leave_kb, "rc": proc.returncode, "out": text(proc)[-1500:],
                                   "ask": ask(env)})
            filler.unlink()
        # A disk that fills anyway while a run writes (another program): the space checks are
        # switched off for this one run, so Chroma meets the full disk itself.
        filler = fill(mount, 3000)
        code = ("import sys; import rag.ingest.indexing as ix\n"
                "class NoChecks:\n"
                "    def __init__(self, folder): pass\n"
                "    def need(self, *a): pass\n"
                "    def chunks(self, *a): pass\n"
                "ix.Room = NoChecks\n"
                "from rag.cli import main; sys.exit(main(['index']))\n")
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=HERE.parents[1], timeout=300,
                              env={**os.environ, "ANONYMIZED_TELEMETRY": "False", **env})
        result["filled_anyway"] = {"rc": proc.returncode, "out": text(proc)[-1500:], "ask": ask(env)}
        filler.unlink()
        result["freed"] = {"ask": ask(env)}
        proc = run_rag(["index"], env)
        result["freed"]["index"] = {"rc": proc.returncode, "out": text(proc)[-1500:]}
        result["freed"]["after"] = ask(env)
        return result
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), Path(sys.argv[2]))))
