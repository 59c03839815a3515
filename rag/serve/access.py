"""Who may reach our servers: the loopback, Host-name and API-key rules of
``rag serve``, ``rag ui`` and the embedding server, in one place.

* Bound to anything but a loopback address, a server must be protected (an API
  key, or the UI's password), or it refuses to start: :func:`check_bind`.
* Unprotected, it answers only to loopback host names, the address it is bound
  to and ``RAG_ALLOWED_HOSTS`` (a web page cannot reach it through DNS
  rebinding): :func:`allowed_hosts`, enforced by :class:`rag.serve.httpguard.Guard`.
* With a key, requests must send ``Authorization: Bearer KEY``, compared in
  constant time; a refusal is a 401 in OpenAI's shape: :func:`check_key`.

>>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
(True, True, False)
>>> allowed_hosts("127.0.0.1", protected=False, extra=("rag.example.org",))
('localhost', '*.localhost', '127.0.0.1', '[::1]', 'rag.example.org')
>>> allowed_hosts("0.0.0.0", protected=True) is None
True
"""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import Request

from rag.settings import SettingsError
from rag.serve.schema import ApiError

LOOPBACK_NAMES = ("localhost", "*.localhost", "127.0.0.1", "[::1]")


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach.

    >>> is_loopback("::1"), is_loopback("[::1]"), is_loopback("example.org")
    (True, True, False)
    """
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name may resolve to a public interface


def check_bind(host: str, *, protected: bool, refusal: str, error: type[Exception] = SettingsError) -> None:
    """Raise ``error(refusal)`` when a server on ``host`` would be reachable
    from other machines with nothing (key, password) protecting it.

    >>> check_bind("127.0.0.1", protected=False, refusal="no")
    >>> check_bind("0.0.0.0", protected=False, refusal="set a key")
    Traceback (most recent call last):
    rag.settings.SettingsError: set a key
    """
    if not protected and not is_loopback(host):
        raise error(refusal)


def allowed_hosts(bind_host: str, *, protected: bool, extra: tuple[str, ...] = ()) -> tuple[str, ...] | None:
    """Host names a server answers to: any (``None``) when a key or password
    protects it; else loopback names, the address it is bound to, and ``extra``
    (``RAG_ALLOWED_HOSTS``)."""
    if protected:
        return None
    names = list(LOOPBACK_NAMES)
    bound = f"[{bind_host.strip('[]')}]" if ":" in bind_host else bind_host
    for name in (bound.lower(), *(e.strip().lower() for e in extra)):
        if name and name not in names:
            names.append(name)
    return tuple(names)


def check_key(authorization: str | None, key: str | None) -> None:
    """Nothing when no key is set or ``authorization`` (the header) carries it;
    else a 401 :class:`ApiError` that closes the connection, so a body the
    client is still sending is not read.

    >>> check_key("Bearer s3cret-key", "s3cret-key")
    >>> check_key(None, "s3cret-key")
    Traceback (most recent call last):
    rag.serve.schema.ApiError: missing API key: send the header 'Authorization: Bearer <key>'
    """
    if not key:
        return
    scheme, _, token = (authorization or "").partition(" ")
    headers = {"WWW-Authenticate": "Bearer", "Connection": "close"}
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "missing API key: send the header 'Authorization: Bearer <key>'",
                       code="invalid_api_key", headers=headers)
    if not hmac.compare_digest(token.strip().encode(), key.encode()):
        raise ApiError(401, "incorrect API key provided", code="invalid_api_key", headers=headers)


def key_required(key: str | None):
    """A FastAPI dependency applying :func:`check_key` to a request (before its body is read)."""
    def require_key(request: Request) -> None:
        check_key(request.headers.get("authorization"), key)

    return require_key
