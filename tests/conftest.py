"""Shared fixtures: a copy of the seeds corpus and real Chroma indexes in temp dirs."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc, grace: float = 20) -> None:
    """Stop a server started by a test: SIGTERM, then SIGKILL if it has not exited in ``grace`` s."""
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A private, writable copy of seeds/."""
    dest = tmp_path / "corpus"
    shutil.copytree(SEEDS, dest)
    return dest


def indexed_seeds_copy(root: Path):
    """Settings for a writable copy of seeds/ in ``root``, with a real MiniLM + Chroma index there."""
    from rag import Settings, build_index

    shutil.copytree(SEEDS, root / "corpus")
    s = Settings(corpus_dir=root / "corpus", index_dir=root / "index")
    build_index(s, progress=False)
    return s


@pytest.fixture(scope="session")
def seeds_settings(tmp_path_factory):
    """Settings for the real seeds corpus with an index built once per session."""
    from rag import Settings, build_index

    s = Settings(corpus_dir=SEEDS, index_dir=tmp_path_factory.mktemp("seeds-index"))
    build_index(s, progress=False)
    return s


UNIT_DIR = Path(__file__).resolve().parent / "unit"


@pytest.hookimpl(tryfirst=True)  # before -m deselects by these markers
def pytest_collection_modifyitems(config, items):
    """Every test is exactly one of unit (under tests/unit), slow (marked so) or integration (the rest)."""
    for item in items:
        if UNIT_DIR in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.unit)
        elif item.get_closest_marker("slow") is None:
            item.add_marker(pytest.mark.integration)
