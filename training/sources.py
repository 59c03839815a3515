"""The training documents: Debian 12 documentation packages (../shared/TRAINING_SOURCES.md).

``python -m training.sources DIR`` downloads each package with ``apt-get download`` and
unpacks it with ``dpkg-deb -x`` into ``DIR/<package>/`` (no install, no root needed for the
download), and records the exact versions in ``DIR/versions.json``. Only these packages
are read; eval corpora and seeds never are.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# package -> globs (relative to the unpacked package root) of the documents mined; English only.
PACKAGES: dict[str, list[str]] = {
    "apache2-doc": ["usr/share/doc/apache2-doc/manual/en/**/*.html"],
    "postgresql-doc-15": ["usr/share/doc/postgresql-doc-15/html/*.html"],
    "git-doc": ["usr/share/doc/git-doc/*.html"],
    "ffmpeg-doc": ["usr/share/doc/ffmpeg/manual/*.html"],
    "gimp-help-en": ["usr/share/gimp/2.0/help/en/**/*.html"],
    "libreoffice-help-en-us": ["usr/share/libreoffice/help/en-US/text/**/*.html"],
    "gnuplot-doc": ["usr/share/doc/gnuplot/htmldocs/*.html"],
    "octave-doc": ["usr/share/doc/octave/octave.html/*.html"],
    "bash-doc": ["usr/share/doc/bash/*.html"],
    "zsh-doc": ["usr/share/doc/zsh-common/html/*.html"],
    "wireshark-doc": ["usr/share/doc/wireshark/**/*.html"],
    "vim-doc": ["usr/share/doc/vim/html/*.html"],
    "fetchmail": ["usr/share/doc/fetchmail/*.html"],
    "tor": ["usr/share/doc/tor/**/*.html"],
    # Man pages (roff) are rendered to HTML with `groff -t -man -Thtml` (Debian's groff).
    "manpages": ["usr/share/man/man*/*.gz"],
    "manpages-dev": ["usr/share/man/man*/*.gz"],
    "rsync": ["usr/share/man/man*/*.gz"],
    "nmap": ["usr/share/man/man*/*.gz"],
    "fetchmail#man": ["usr/share/man/man*/*.gz"],
    "tor#man": ["usr/share/man/man*/*.gz"],
}


def package_name(key: str) -> str:
    return key.split("#")[0]


def fetch(root: Path) -> dict[str, str]:
    """Download and unpack every package into ``root``; returns {package: version}."""
    root.mkdir(parents=True, exist_ok=True)
    versions: dict[str, str] = {}
    for name in sorted({package_name(k) for k in PACKAGES}):
        target = root / name
        debs = sorted(root.glob(f"{name}_*.deb"))
        if not debs:
            subprocess.run(["apt-get", "download", name], cwd=root, check=True, capture_output=True)
            debs = sorted(root.glob(f"{name}_*.deb"))
        if not target.exists():
            subprocess.run(["dpkg-deb", "-x", str(debs[-1]), str(target)], check=True)
        out = subprocess.run(["dpkg-deb", "-f", str(debs[-1]), "Version"], check=True, capture_output=True, text=True)
        versions[name] = out.stdout.strip()
    (root / "versions.json").write_text(json.dumps(versions, indent=1, sort_keys=True))
    return versions


if __name__ == "__main__":
    print(json.dumps(fetch(Path(sys.argv[1] if len(sys.argv) > 1 else "build/debdocs")), indent=1))
