"""E-mail (.eml) through the standard ``email`` package.

The subject is the heading; From, To, Cc and Date are fields ("From: Ana
Ortiz <ana@example.org>"); then the body (the plain-text part, else the HTML
one), and a field listing the attachments. Each attachment of a supported type
is a document of its own, read like a file of its type and cited as
``mail.eml#report.pdf``; an attached mail is read the same way (its own
attachments under ``mail.eml#fwd.eml#...``). Attachments of other types, or
over the size limit, are named with the reason; images inside the HTML body
(logos, signatures) are not attachments.

>>> p = parse_eml("notice.eml", read_part)  # doctest: +SKIP
>>> [name for name, _ in p.parts]  # doctest: +SKIP
['report.pdf']
"""

from __future__ import annotations

import mimetypes
import re
import tempfile
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Callable

from rag.ingest.loaders.base import Parsed, TextBuilder

MAX_ATTACHMENT_BYTES = 50 * 1024 * 1024
MAX_DEPTH = 3  # mails attached to mails attached to mails
_FIELDS = ("From", "To", "Cc", "Date")
_KNOWN = ("From", "To", "Subject", "Date", "Message-ID", "Received", "MIME-Version")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\#]+")


def parse_eml(path, read_part: Callable[[Path], Parsed], supported: tuple[str, ...], depth: int = 0) -> Parsed:
    """Blocks of a mail; ``read_part(path)`` reads an attachment saved to a file
    (ValueError when it cannot); ``supported`` are the suffixes it reads."""
    with open(path, "rb") as f:
        msg = BytesParser(policy=policy.default).parse(f)
    if not any(_header(msg, h) for h in _KNOWN):
        raise ValueError("not an e-mail message (no mail headers)")
    out = TextBuilder()
    out.heading(_header(msg, "Subject") or "(no subject)", 1)
    for name in _FIELDS:
        value = _header(msg, name)
        if value:
            out.add("field", f"{name}: {value}")
    body = _body(msg)
    if body is not None:
        out.extend(body, base_level=1)
    parts: list[tuple[str, Parsed]] = []
    skipped: list[tuple[str, str]] = []
    names: list[str] = []
    with tempfile.TemporaryDirectory(prefix="rag-mail-") as tmp:
        for i, part in enumerate(msg.iter_attachments(), start=1):
            if _is_inline_image(part):
                continue
            name = _unique(_name(part, i), names)
            names.append(name)
            suffix = Path(name).suffix.lower()
            if suffix not in supported:
                skipped.append((name, f"unsupported attachment type {suffix or '(none)'}"))
                continue
            if suffix == ".eml" and depth >= MAX_DEPTH:
                skipped.append((name, f"a mail attached more than {MAX_DEPTH} levels deep"))
                continue
            encoded = part.get_payload()
            if isinstance(encoded, str) and len(encoded) * 3 // 4 > MAX_ATTACHMENT_BYTES:
                skipped.append((name, f"too large (about {len(encoded) * 3 // 4 // 2**20} MB; "
                                      f"the limit is {MAX_ATTACHMENT_BYTES // 2**20} MB)"))
                continue
            data = _payload(part)
            if data is None:
                skipped.append((name, "attachment could not be decoded"))
                continue
            if len(data) > MAX_ATTACHMENT_BYTES:
                skipped.append((name, f"too large ({len(data) // 2**20} MB; the limit is "
                                      f"{MAX_ATTACHMENT_BYTES // 2**20} MB)"))
                continue
            saved = Path(tmp) / f"{len(names)}{suffix}"
            saved.write_bytes(data)
            del data
            try:
                parsed = read_part(saved)
            except ValueError as exc:
                skipped.append((name, str(exc)))
                continue
            finally:
                saved.unlink()
            if not parsed.text.strip():
                skipped.append((name, "empty (no text)"))
                continue
            parts.append((name, parsed))
    if names:
        out.add("field", "Attachments: " + ", ".join(names))
    built = out.build()
    return Parsed(built.text, built.blocks, parts=tuple(parts), skipped=tuple(skipped))


def _header(msg, name: str) -> str:
    try:
        value = msg[name]
    except Exception:  # a malformed header the policy cannot parse: its raw text
        value = next((v for k, v in msg.raw_items() if k.lower() == name.lower()), None)
    return " ".join(str(value).split()) if value is not None else ""


def _body(msg) -> Parsed | None:
    try:
        part = msg.get_body(preferencelist=("plain", "html"))
    except Exception:
        part = None
    if part is None:
        return None
    try:
        text = part.get_content()
    except Exception:  # an unknown charset, a broken transfer encoding
        data = part.get_payload(decode=True) or b""
        text = data.decode("utf-8", "replace")
    if not isinstance(text, str) or not text.strip():
        return None
    if "\x00" in text:
        raise ValueError("binary data in the mail body (NUL bytes)")
    if part.get_content_type() == "text/html":
        from rag.ingest.loaders.html import parse_html

        return parse_html(text)
    from rag.ingest.loaders.plain import parse_plain

    return parse_plain(text.replace("\r\n", "\n"))


def _is_inline_image(part) -> bool:
    return (part.get_content_maintype() == "image" and part.get_content_disposition() != "attachment"
            and bool(part.get("Content-ID")))


def _name(part, i: int) -> str:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if part.get_content_type() == "message/rfc822" and not name:
        try:
            inner = part.get_content()
            name = f"{_header(inner, 'Subject') or 'message'}.eml"
        except Exception:
            name = None
    name = _UNSAFE.sub("_", str(name or "")).strip(" ._")[:100]
    if not name:
        ext = mimetypes.guess_extension(part.get_content_type()) or ""
        name = f"attachment-{i}{ext}"
    return name


def _unique(name: str, taken: list[str]) -> str:
    if name not in taken:
        return name
    stem, dot, ext = name.rpartition(".")
    stem, ext = (stem, f".{ext}") if dot and stem else (name, "")
    n = 2
    while f"{stem} ({n}){ext}" in taken:
        n += 1
    return f"{stem} ({n}){ext}"


def _payload(part) -> bytes | None:
    if part.get_content_type() == "message/rfc822":
        try:
            return part.get_content().as_bytes(policy=policy.default)
        except Exception:
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            return inner.as_bytes() if hasattr(inner, "as_bytes") else None
    try:
        data = part.get_payload(decode=True)
    except Exception:
        return None
    return data if isinstance(data, bytes) else None
