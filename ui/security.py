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

import json
import os
import re
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlparse

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
    for path, label in ((settings.ingest.corpus_dir, "the corpus folder"),
                        (settings.store.index_dir, "the index folder")):
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
    if settings.store.chroma_url:
        u = urlparse(settings.store.chroma_url)
        port = f":{u.port}" if u.port else ""
        index = f"Chroma server {u.scheme}://{u.hostname}{port}"
    else:
        index = f"{Path(settings.store.index_dir).name}/ (local folder)"
    return index, f"{Path(settings.ingest.corpus_dir).name}/"


# -- who may send what ---------------------------------------------------------------

MiB = 1024 * 1024
UPLOAD_BODY_LIMIT = 100 * MiB + MiB   # one upload request: up to five 20 MB files (each checked by Gradio)
JSON_BODY_LIMIT = 3 * MiB             # the largest JSON a page sends: a saved conversation (ui.store)
FORM_BODY_LIMIT = 16 * 1024           # the sign-in form
# What the sign-in page itself needs before anyone has signed in: the page, its scripts,
# styles and fonts, and the sign-in call. Everything else (queue, calls, files, cancel, reset,
# upload, config, info) requires a signed-in browser.
PUBLIC = re.compile(r"/(?:|assets/.+|static/.+|svelte/.+|favicon\.ico|theme\.css|gradio_api/theme\.css|"
                    r"login/?|gradio_api/login_check/?|robots\.txt)")
_ASK_ROUTE = re.compile(r"/gradio_api/(?:call/v2|call|run|api)/ask/?")


def body_limit(path: str, max_question_chars: int) -> int:
    """Bytes a request body to ``path`` may hold: an upload, a question (the
    public ``/ask`` endpoint: the question's limit, each character escaped, plus
    a margin), or any other JSON a page sends.

    >>> body_limit("/gradio_api/call/ask", 2000), body_limit("/gradio_api/upload", 2000) > 100 * MiB
    (40384, True)
    """
    if path.rstrip("/") == "/gradio_api/upload":
        return UPLOAD_BODY_LIMIT
    if path.rstrip("/") == "/login":
        return FORM_BODY_LIMIT
    if _ASK_ROUTE.fullmatch(path):
        return max_question_chars * 12 + 16 * 1024
    return JSON_BODY_LIMIT


def body_types(path: str) -> tuple[str, ...]:
    if path.rstrip("/") == "/gradio_api/upload":
        return ("multipart/form-data",)
    if path.rstrip("/") == "/login":
        return ("multipart/form-data", "application/x-www-form-urlencoded")
    return ("application/json",)


def _gradio_app(root):
    """The Gradio app mounted in ``root`` (it holds the sign-in tokens)."""
    for route in root.routes:
        inner = getattr(route, "app", None)
        if hasattr(inner, "tokens") and hasattr(inner, "cookie_id"):
            return inner
    raise RuntimeError("no Gradio app is mounted here")


def signed_in(root) -> Callable[[dict], bool]:
    """``scope -> bool``: a public path of the sign-in page, or a request that
    carries the cookie Gradio set at sign-in."""
    from http.cookies import SimpleCookie

    gradio_app = _gradio_app(root)
    names = (f"access-token-{gradio_app.cookie_id}", f"access-token-unsecure-{gradio_app.cookie_id}")

    def check(scope) -> bool:
        if PUBLIC.fullmatch(scope.get("path", "")):
            return True
        for key, value in scope.get("headers", []):
            if key == b"cookie":
                cookies = SimpleCookie()
                try:
                    cookies.load(value.decode("latin-1"))
                except Exception:  # a malformed cookie header signs nobody in
                    return False
                if any(n in cookies and cookies[n].value in gradio_app.tokens for n in names):
                    return True
        return False

    return check


class LoginThrottle:
    """At most ``failures`` wrong passwords per client address in ``window``
    seconds; further attempts get 429 until the window has passed (guessing a
    password becomes slow). Sign-in is Gradio's own ``POST /login``."""

    def __init__(self, app, failures: int = 10, window: float = 60.0) -> None:
        self.app, self.failures, self.window = app, failures, window
        self._seen: dict[str, list[float]] = {}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("path", "").rstrip("/") != "/login" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        import time

        client = (scope.get("client") or ("?",))[0]
        now = time.monotonic()
        recent = [t for t in self._seen.get(client, []) if now - t < self.window]
        self._seen[client] = recent
        if len(recent) >= self.failures:
            wait = int(self.window - (now - recent[0])) + 1
            body = b'{"detail": "too many failed sign-ins; try again later"}'
            await send({"type": "http.response.start", "status": 429,
                        "headers": [(b"content-type", b"application/json"), (b"retry-after", str(wait).encode()),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return

        async def watch(message):
            if message["type"] == "http.response.start":
                if message["status"] == 200:
                    self._seen.pop(client, None)
                elif message["status"] in (400, 401, 403):
                    self._seen.setdefault(client, []).append(time.monotonic())
            await send(message)

        return await self.app(scope, receive, watch)


def ui_error(status: int, message: str, code: str | None = None) -> tuple[bytes, bytes]:
    import json

    return json.dumps({"detail": message, "code": code}).encode(), b"application/json"


def guarded(root, *, host: str, auth: bool, settings):
    """``root`` (FastAPI with Gradio mounted) behind every rule: security
    headers on each response; Host names when there is no password (DNS
    rebinding); no cross-origin requests; sign-in required on every route but
    the sign-in page's own (before any body is read); body types and limits;
    failed sign-ins throttled."""
    from gradio.utils import get_upload_folder
    from rag.serve import allowed_hosts
    from rag.serve import Guard

    app = Guard(LoginThrottle(UploadPaths(root, get_upload_folder())),
                allowed_hosts=allowed_hosts(host, protected=auth, extra=settings.host_names),
                body_limit=lambda path: body_limit(path, settings.answer.max_question_chars), body_types=body_types,
                authorized=signed_in(root) if auth else None, error=ui_error)
    return SecurityHeaders(app)


_FILE_ROUTE = re.compile(r"/gradio_api/(?:file|proxy)=(.*)", re.DOTALL)
_URL_LIKE = re.compile(r"\s*(?:[a-z][a-z0-9+.-]*:|[/\\]{2})", re.IGNORECASE)


class UploadPaths:
    """Gradio answers an upload with the files' absolute paths in its temporary
    folder, and the page names them again when it submits the form. This keeps
    the server's folders out of the page: upload answers carry the paths relative
    to that folder, and paths named in requests (JSON bodies, ``/file=`` URLs) are
    taken relative to it again. Gradio still refuses any path it did not upload.
    A ``/file=`` or ``/proxy=`` URL naming another host is refused (403): Gradio
    would fetch it for the caller, and this app makes no outbound calls."""

    def __init__(self, app, folder: str) -> None:
        self.app = app
        self.folder = str(Path(folder).resolve())

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "") if scope["type"] == "http" else ""
        named = _FILE_ROUTE.match(path)
        if named and _URL_LIKE.match(unquote(named.group(1))):
            # Gradio would fetch the URL for the caller: an outbound call this app never makes.
            body, kind = ui_error(403, "this server fetches nothing from other hosts", "no_outbound_fetch")
            await send({"type": "http.response.start", "status": 403,
                        "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        if path.rstrip("/") == "/gradio_api/upload" and scope["method"] == "POST":
            # Uncompressed, so the answer can be read and rewritten.
            scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k != b"accept-encoding"]}
            return await self.app(scope, receive, self._relative_answer(send))
        if path.startswith("/gradio_api/file=") and not path[len("/gradio_api/file="):].startswith("/"):
            absolute = path.replace("/gradio_api/file=", "/gradio_api/file=" + self.folder + "/", 1)
            scope = {**scope, "path": absolute, "raw_path": absolute.encode()}
            return await self.app(scope, receive, send)
        if path.startswith("/gradio_api/") and scope["type"] == "http" and scope["method"] == "POST":
            return await self.app(scope, await self._absolute_request(receive), send)
        return await self.app(scope, receive, send)

    def _relative_answer(self, send):
        held: dict = {}
        body = bytearray()

        async def rewrite(message):
            if message["type"] == "http.response.start":
                held.update(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body"):
                return
            data = bytes(body)
            try:
                paths = json.loads(data)
                if isinstance(paths, list):
                    data = json.dumps([self._relative(p) for p in paths]).encode()
            except ValueError:
                pass  # an error message, passed on as it is
            headers = [(k, v) for k, v in held.get("headers", []) if k != b"content-length"]
            await send({**held, "headers": headers + [(b"content-length", str(len(data)).encode())]})
            await send({"type": "http.response.body", "body": data})

        return rewrite

    def _relative(self, value):
        prefix = self.folder + os.sep
        return value[len(prefix):] if isinstance(value, str) and value.startswith(prefix) else value

    async def _absolute_request(self, receive):
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return _replay([message])
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        data = b"".join(chunks)
        try:
            doc = json.loads(data)
        except ValueError:
            return _replay([{"type": "http.request", "body": data}])
        if self._absolute(doc):
            data = json.dumps(doc).encode()
        return _replay([{"type": "http.request", "body": data}])

    def _absolute(self, node) -> bool:
        """Make the relative paths of uploaded files in ``node`` absolute; True if any changed."""
        changed = False
        if isinstance(node, dict):
            meta = node.get("meta")
            p = node.get("path")
            if isinstance(meta, dict) and meta.get("_type") == "gradio.FileData" and isinstance(p, str) \
                    and p and not os.path.isabs(p):
                node["path"] = os.path.join(self.folder, p)
                changed = True
            for v in node.values():
                changed = self._absolute(v) or changed
        elif isinstance(node, list):
            for v in node:
                changed = self._absolute(v) or changed
        return changed


def _replay(messages: list[dict]):
    queue = list(messages)

    async def receive():
        if queue:
            return queue.pop(0)
        return {"type": "http.disconnect"}

    return receive
