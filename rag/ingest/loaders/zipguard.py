"""Office documents and e-books are zip archives: their sizes are checked
before any parser unpacks them.

A zip bomb declares gigabytes of content in a few kilobytes. Python's
``zipfile``, which python-docx, python-pptx, openpyxl, odfpy and ebooklib all
read through, never returns more than a member's declared size (more is a CRC
error), so checking the declared sizes bounds what a parser can unpack.

>>> check_zip("minutes.docx", ".docx")  # doctest: +SKIP
"""

from __future__ import annotations

import zipfile

# Unpacked size of all members together; a 50 MB office file that unpacks to more is a bomb.
MAX_UNPACKED_BYTES = 300 * 1024 * 1024
MAX_MEMBERS = 20_000


def check_zip(path, kind: str) -> None:
    """Raise ValueError (a short reason) unless ``path`` is a zip archive whose
    members unpack to a sane size; ``kind`` (".docx") names the format in it."""
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError):
        raise ValueError(f"not a valid {kind} file (damaged, or not a zip archive)") from None
    if len(infos) > MAX_MEMBERS:
        raise ValueError(f"{kind} archive has {len(infos)} parts (more than {MAX_MEMBERS}): not read")
    total = sum(max(i.file_size, 0) for i in infos)
    if total > MAX_UNPACKED_BYTES:
        raise ValueError(f"unpacks to {total // 2**20} MB (more than {MAX_UNPACKED_BYTES // 2**20} MB): "
                         "a zip bomb? not read")
