"""OCR with Tesseract: images of text (.png, .jpg, .tiff) and PDF pages that
have no text layer (scans), read by the ``tesseract`` command (Debian's
``tesseract-ocr`` with ``tesseract-ocr-eng``); PDF pages are rendered first by
Poppler's ``pdftoppm`` (``poppler-utils``).

OCR is optional. Without those programs (or with ``RAG_OCR=false``) such
files and pages are skipped with a reason that says how to enable it. Each
page runs as its own child process with a timeout, one thread
(``OMP_THREAD_LIMIT=1``): a shared laptop stays responsive.

>>> parse_image("receipt.png", ReadOptions()).text[:20]  # doctest: +SKIP
'Kestrel Marine Works'
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from rag.ingest.loaders.base import Parsed, ReadOptions, TextBuilder
from rag.ingest.loaders.plain import BULLET, is_title

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
MAX_OCR_PAGES = 500  # pages of one file read by OCR; more are named as not read
MAX_PIXELS = 80_000_000  # a 300 dpi A0 poster; bigger is an image bomb, not a page of text
RENDER_DPI = 300
INSTALL = "apt-get install tesseract-ocr tesseract-ocr-eng"
_MAGIC = {".png": (b"\x89PNG\r\n\x1a\n",), ".jpg": (b"\xff\xd8\xff",), ".jpeg": (b"\xff\xd8\xff",),
          ".tif": (b"II*\x00", b"MM\x00*"), ".tiff": (b"II*\x00", b"MM\x00*")}


def unavailable(options: ReadOptions, pdf: bool = False) -> str | None:
    """Why OCR cannot run here (a sentence saying how to enable it), or None when it can."""
    if not options.ocr:
        return "OCR is switched off (RAG_OCR=false)"
    if shutil.which("tesseract") is None:
        return f"OCR needs Tesseract, which is not installed ({INSTALL}{' poppler-utils' if pdf else ''})"
    if pdf and shutil.which("pdftoppm") is None:
        return "OCR of PDF pages needs pdftoppm, which is not installed (apt-get install poppler-utils)"
    return None


def parse_image(path, options: ReadOptions) -> Parsed:
    """The text of an image (every page of a multi-page TIFF) by OCR; ValueError
    with the reason when it cannot be read."""
    path = Path(path)
    pages = _check_image(path)
    reason = unavailable(options)
    if reason:
        raise ValueError(f"an image of text: {reason}")
    out = TextBuilder()
    for _ in range(pages):
        if options.on_ocr_page is not None:
            options.on_ocr_page()
    span = add_ocr_text(out, run_tesseract(path, options, seconds=options.ocr_page_seconds * pages))
    built = out.build()
    return Parsed(built.text, built.blocks, ocr=(span,) if span else ())


def ocr_pdf_page(pdf: Path, page: int, options: ReadOptions) -> str:
    """OCR text of page ``page`` (0-based) of a PDF: rendered at 300 dpi, then read."""
    if options.on_ocr_page is not None:
        options.on_ocr_page()
    with tempfile.TemporaryDirectory(prefix="rag-ocr-") as tmp:
        prefix = Path(tmp) / "page"
        _run(["pdftoppm", "-r", str(RENDER_DPI), "-f", str(page + 1), "-l", str(page + 1), "-png", "-singlefile",
              str(pdf), str(prefix)], options.ocr_page_seconds, "rendering the page")
        image = prefix.with_suffix(".png")
        if not image.exists():
            raise ValueError("rendering the page for OCR produced no image")
        return run_tesseract(image, options, options.ocr_page_seconds)


def run_tesseract(image: Path, options: ReadOptions, seconds: float) -> str:
    """Tesseract's text of ``image`` (English), or ValueError with its complaint."""
    return _run(["tesseract", str(image), "stdout", "-l", "eng"], seconds, "OCR")


def add_ocr_text(out: TextBuilder, text: str) -> tuple[int, int] | None:
    """Append OCR output as blocks and return the span it takes in the text.

    Tesseract ends each paragraph with a blank line; the lines inside one are
    wrapped lines, joined (a word hyphenated at a line end is whole again). A
    lone short line without closing punctuation before more text is a heading;
    lines opening with a bullet or a number are list items.
    """
    text = text.replace("\f", "\n\n").replace("\r", "")
    text = re.sub(r"([a-z])-\n([a-z])", r"\1\2", text)
    paragraphs = [p for p in re.split(r"\n[ \t]*\n", text) if p.strip()]
    first = len(out.blocks)
    for i, para in enumerate(paragraphs):
        lines = [ln.strip() for ln in para.split("\n") if ln.strip()]
        if all(BULLET.match(ln) for ln in lines):
            for ln in lines:
                out.add("list_item", ln)
        elif len(lines) == 1 and i + 1 < len(paragraphs) and is_title(lines[0]):
            out.heading(lines[0], 1 if lines[0].isupper() else 2)
        else:
            out.add("paragraph", " ".join(lines))
    if len(out.blocks) == first:
        return None
    return out.blocks[first].start, out.blocks[-1].end


def _check_image(path: Path) -> int:
    """Pages in the image; ValueError for a file that is not the image its name says,
    or one too large to be a page of text."""
    with open(path, "rb") as f:
        check_magic(f.read(16), path.suffix.lower())
    try:
        from PIL import Image

        Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # this process reads only the header; no bomb is decoded
        with Image.open(path) as img:
            width, height = img.size
            pages = getattr(img, "n_frames", 1) or 1
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        return 1
    except Exception as exc:  # Pillow's DecompressionBombError among them
        raise ValueError(f"unreadable image ({type(exc).__name__}: {str(exc)[:100]})") from None
    if width * height > MAX_PIXELS:
        raise ValueError(f"image too large to read ({width}x{height} pixels)")
    if pages > MAX_OCR_PAGES:
        raise ValueError(f"{pages} pages in one image file (more than {MAX_OCR_PAGES})")
    return pages


def check_magic(head: bytes, suffix: str) -> None:
    """ValueError unless the file's first bytes are those of its image type."""
    if not head.startswith(_MAGIC.get(suffix, (b"",))):
        raise ValueError(f"not a {suffix.lstrip('.').upper()} image (damaged, or another format)")


def _run(cmd: list[str], seconds: float, what: str) -> str:
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=seconds, env=env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise ValueError(f"{what} took longer than {seconds:g} s") from None
    except OSError as exc:
        raise ValueError(f"{what} could not start ({exc.strerror or exc})") from None
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace")
        if "language" in err.lower():  # Tesseract without its English data
            raise ValueError(f"{what} failed: Tesseract has no English language data ({INSTALL})")
        lines = [ln for ln in err.splitlines() if ln.strip()]
        raise ValueError(f"{what} failed ({lines[-1][:160] if lines else f'exit status {proc.returncode}'})")
    return proc.stdout.decode("utf-8", "replace")
