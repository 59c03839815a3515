"""What we print and log: file names made safe for a terminal, credentials masked.

File names come from users' folders and may hold newlines, escape sequences or
Unicode bidi overrides (U+202E makes ``gpj.exe`` read as ``exe.jpg``); URLs in
settings may hold ``user:password@``. Everything we show goes through here.

>>> printable("evil\\nname\\u202etxt.md")
'evil\\\\nname\\\\u202etxt.md'
>>> mask_credentials("POST http://bob:s3cret@host:8080/v1/chat")
'POST http://***@host:8080/v1/chat'
"""

from __future__ import annotations

import logging
import re
import unicodedata

# Categories never shown raw: controls (Cc), format characters such as bidi
# overrides and zero-width joiners (Cf), lone surrogates from undecodable names (Cs),
# unassigned/private code points, and line/paragraph separators (Zl, Zp).
_UNSAFE_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}

_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@:]*(?::[^/\s@]*)?@")


def printable(name: str) -> str:
    """``name`` with every control, format (bidi) and undecodable character
    escaped (``\\n``, ``\\u202e``, ``\\udce9``), so it prints as one honest line.

    >>> printable("caf\\udce9.txt")
    'caf\\\\udce9.txt'
    """
    if name.isprintable() and not any(unicodedata.category(ch) in _UNSAFE_CATEGORIES for ch in name):
        return name
    out = []
    for ch in name:
        if ch == "\\":
            out.append("\\\\")
        elif unicodedata.category(ch) in _UNSAFE_CATEGORIES or not ch.isprintable():
            code = ord(ch)
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(ch) or
                       (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"))
        else:
            out.append(ch)
    return "".join(out)


def mask_credentials(text: str) -> str:
    """``text`` with the ``user:password@`` part of any URL replaced by ``***@``."""
    return _USERINFO.sub(r"\1***@", text)


class RedactingFilter(logging.Filter):
    """Masks URL credentials (and the given secrets) in a log record before any
    handler formats it. Attached to the HTTP client loggers, which log full
    request URLs at INFO."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s and len(s) >= 4)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the logger's problem, not ours
            return True
        clean = mask_credentials(message)
        for secret in self.secrets:
            clean = clean.replace(secret, "***")
        if clean != message:
            record.msg, record.args = clean, None
        return True


# The loggers that print request URLs: httpx2 (under openai 3.x), httpx (chromadb),
# their connection layers, and openai's own debug logging. Their child loggers
# ("openai._base_client") inherit the level set here.
HTTP_LOGGERS = ("httpx2", "httpx", "httpcore2", "httpcore", "openai", "urllib3")


def guard_http_loggers(*secrets: str, force_quiet: bool = False) -> None:
    """Quiet the HTTP client loggers to WARNING (unless the application set
    their level itself; ``force_quiet`` overrides that) and mask credentials
    and ``secrets`` in what they still log.

    >>> guard_http_loggers("sk-test-key")
    >>> logging.getLogger("httpx2").getEffectiveLevel() >= logging.WARNING
    True
    """
    wanted = tuple(s for s in secrets if s and len(s) >= 4)
    for name in HTTP_LOGGERS:
        logger = logging.getLogger(name)
        if force_quiet or logger.level == logging.NOTSET:
            logger.setLevel(max(logger.level, logging.WARNING))
        existing = [f for f in logger.filters if isinstance(f, RedactingFilter)]
        if existing:
            existing[0].secrets = tuple(dict.fromkeys(existing[0].secrets + wanted))
        else:
            logger.addFilter(RedactingFilter(wanted))


def guard_handlers(*secrets: str) -> None:
    """Mask credentials in everything the root logger's handlers print (the
    CLI's stderr): filters on a handler see records from every logger."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter(tuple(s for s in secrets if s)))
