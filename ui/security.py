"""What the page may load, and what the page may say about the server.

* :class:`SecurityHeaders` sends a Content-Security-Policy with every response:
  images, scripts, styles, fonts and connections only from this host (plus
  ``data:``/``blob:`` images Gradio makes itself). Even if document text ever
  reached the page as markup, the browser would fetch nothing from elsewhere.
  Files Gradio serves back (uploads) get a sandboxing policy: they are never
  run as a page of this app.
* :func:`public_message` and :func:`public_location` keep absolute server paths
  out of the page: errors and the sidebar name folders, not paths.

>>> public_message("no index at /srv/rag/index; run `rag index`", {"/srv/rag/index": "the index folder"})
'no index at the index folder; run `rag index`'
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

# Gradio's page needs inline and eval'd scripts (its config, event ``js=`` and
# gr.HTML templates); everything else is same-origin only.
CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "media-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "frame-src 'none'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
FILE_CSP = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"
EXTRA_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]


class SecurityHeaders:
    """ASGI middleware adding the policy above to every HTTP response (pure
    ASGI, so streamed responses stay streamed)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        policy = (FILE_CSP if "/file=" in scope.get("path", "") else CSP).encode()

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() not in (b"content-security-policy", *(h for h, _ in EXTRA_HEADERS))]
                headers += [(b"content-security-policy", policy), *EXTRA_HEADERS]
                message = {**message, "headers": headers}
            await send(message)

        return await self.app(scope, receive, send_with_headers)


_ABSOLUTE = re.compile(r"(?<![\w.:/])(?:/[^\s/'\"`:;,()<>]+)+/?|[A-Za-z]:\\[^\s'\"`:;,()<>]+")


def public_message(text: str, known: dict[str, str] | None = None) -> str:
    """``text`` with absolute paths replaced: ``known`` paths by their label,
    any other by its last component.

    >>> public_message("cannot read /home/ana/corpus/notes/a.txt: denied")
    'cannot read …/a.txt: denied'
    """
    for path, label in sorted((known or {}).items(), key=lambda kv: -len(kv[0])):
        if path and path not in ("/", "."):
            text = text.replace(path, label)
    return _ABSOLUTE.sub(lambda m: "…/" + m.group(0).rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1], text)


def known_paths(settings) -> dict[str, str]:
    """The settings' folders (as given and resolved) with the names the page uses."""
    out: dict[str, str] = {}
    for path, label in ((settings.corpus_dir, "the corpus folder"), (settings.index_dir, "the index folder")):
        for p in {str(path), str(Path(path).resolve())}:
            out[p] = label
    return out


def public_location(settings) -> tuple[str, str]:
    """(index, corpus) as the sidebar shows them: a folder name, or a Chroma
    server's scheme, host and port without credentials or path.

    >>> from rag import Settings
    >>> public_location(Settings(index_dir="/srv/x/idx", corpus_dir="/home/a/notes"))
    ('idx/ (local folder)', 'notes/')
    >>> public_location(Settings(chroma_url="http://u:pw@10.0.0.5:8000/x"))[0]
    'Chroma server http://10.0.0.5:8000'
    """
    if settings.chroma_url:
        u = urlparse(settings.chroma_url)
        port = f":{u.port}" if u.port else ""
        index = f"Chroma server {u.scheme}://{u.hostname}{port}"
    else:
        index = f"{Path(settings.index_dir).name}/ (local folder)"
    return index, f"{Path(settings.corpus_dir).name}/"
