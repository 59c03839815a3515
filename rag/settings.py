"""One typed settings object, read once from ``RAG_*`` environment variables.

Every option has a documented default (see README "Configuration"). An invalid
value fails at start-up with a :class:`SettingsError` naming the variable.

>>> from rag import Settings
>>> s = Settings.from_env({"RAG_TOP_K": "4"})
>>> s.top_k
4
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping
from urllib.parse import urlparse

# The repository root: defaults resolve against it so `ask()` works from any cwd
# inside a clone. Users pointing at their own folders set RAG_CORPUS_DIR.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

EMBEDDING_PROVIDERS = ("minilm-onnx", "hash", "openai")
ANSWERERS = ("extractive", "openai", "top-chunk")


class SettingsError(ValueError):
    """A RAG_* variable has an invalid value; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """All configuration of the pipeline. Frozen, hashable, passed explicitly.

    >>> Settings(top_k=3).top_k
    3
    """

    corpus_dir: Path = PROJECT_ROOT / "seeds"
    index_dir: Path = PROJECT_ROOT / "index"
    chroma_url: str | None = None
    # RAG_CHROMA_TIMEOUT: seconds per request to a Chroma server; a frozen server fails instead of hanging.
    chroma_timeout: float = 30.0
    collection: str = "corpus"
    # RAG_OCR: read scanned PDF pages and images with Tesseract when it is installed; false skips them.
    ocr: bool = True
    # The budget of reading one file, in any format (rag.ingest.loaders.budget: every file is parsed in a
    # worker process); a file over it is skipped and named. RAG_PARSE_TIMEOUT: CPU seconds per
    # started MB of the file (wall-clock: three times that, plus 5 s); each page read by OCR adds
    # 120 s. RAG_PARSE_MEMORY_MB: memory the parser may take for one file, beyond the worker's own.
    parse_timeout: float = 20.0
    parse_memory_mb: int = 2048
    chunk_size: int = 800
    chunk_overlap: int = 120
    top_k: int = 6
    embedding: str = "minilm-onnx"
    # minilm-onnx: cores to embed on. Indexing runs one single-threaded onnxruntime session per
    # core, batches side by side (measured faster than one session with several threads); a
    # question runs on one session with that many threads. 0 = every core this process may use.
    # openai: requests in flight at once; 0 = 4.
    embedding_threads: int = 0
    # Remote embeddings (used when embedding == "openai"): any OpenAI-compatible /v1/embeddings.
    embedding_model: str = "text-embedding-3-small"
    embedding_base_url: str | None = None
    embedding_api_key: str | None = field(default=None, repr=False)
    embedding_batch_size: int = 64
    embedding_timeout: float = 60.0
    embedding_max_retries: int = 3
    answerer: str = "extractive"
    # Generative answerer (used when answerer == "openai").
    llm_model: str = "gpt-4o-mini"
    llm_base_url: str | None = None
    llm_api_key: str | None = field(default=None, repr=False)
    llm_timeout: float = 60.0
    # RAG_LLM_CONNECT_TIMEOUT: seconds to open a connection to the model server.
    llm_connect_timeout: float = 10.0
    # RAG_LLM_DEADLINE: seconds for a whole answer from the model (retries and streaming
    # included); a server that trickles or streams without end is cut off here.
    llm_deadline: float = 120.0
    llm_max_retries: int = 2
    # RAG_LLM_MAX_TOKENS: cap on the answer's length; keeps a rambling small model's latency bounded.
    llm_max_tokens: int = 512
    strict: bool = False
    # Retrieval calibration: below these the extractive answerer refuses.
    min_coverage: float = 0.34
    max_question_chars: int = 2000
    # `rag serve` (the OpenAI-compatible API). Clients must send `Authorization: Bearer <api_key>`
    # when it is set; binding anything but loopback without it refuses to start.
    api_key: str | None = field(default=None, repr=False)
    serve_host: str = "127.0.0.1"
    serve_port: int = 8090
    # Answers run in a pool of this many threads, so embedding never blocks the event loop;
    # up to serve_queue more requests wait, beyond that clients get 429.
    serve_workers: int = 2
    serve_queue: int = 64
    # RAG_ALLOWED_HOSTS: comma-separated host names (e.g. "rag.lan,*.example.org") that `rag serve` and
    # `rag ui` also answer to when no key or password protects them; by default only loopback names,
    # so a web page cannot reach them through DNS rebinding.
    allowed_hosts: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "corpus_dir", Path(self.corpus_dir).expanduser())
        object.__setattr__(self, "index_dir", Path(self.index_dir).expanduser())
        _validate(self)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> "Settings":
        """Read ``RAG_*`` variables (and OPENAI_* fallbacks) into a Settings.

        >>> Settings.from_env({"RAG_ANSWERER": "extractive"}).answerer
        'extractive'
        """
        env = os.environ if environ is None else environ
        values: dict = {}
        for f in dataclasses.fields(cls):
            var = "RAG_" + f.name.upper()
            raw = env.get(var)
            if raw is None or raw == "":
                continue
            values[f.name] = _parse(var, raw, f.type)
        if "llm_base_url" not in values and env.get("OPENAI_BASE_URL"):
            values["llm_base_url"] = env["OPENAI_BASE_URL"]
        if "llm_api_key" not in values and env.get("OPENAI_API_KEY"):
            values["llm_api_key"] = env["OPENAI_API_KEY"]
        if "embedding_base_url" not in values and env.get("OPENAI_BASE_URL"):
            values["embedding_base_url"] = env["OPENAI_BASE_URL"]
        if "embedding_api_key" not in values and env.get("OPENAI_API_KEY"):
            values["embedding_api_key"] = env["OPENAI_API_KEY"]
        values.update(overrides)
        return cls(**values)

    def replace(self, **changes) -> "Settings":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    @property
    def host_names(self) -> tuple[str, ...]:
        """``allowed_hosts`` as a tuple of names.

        >>> Settings(allowed_hosts="rag.lan, *.example.org").host_names
        ('rag.lan', '*.example.org')
        """
        return tuple(n.strip().lower() for n in self.allowed_hosts.split(",") if n.strip())

    @property
    def index_location(self) -> str:
        """Human-readable place of the index: a server URL or a directory."""
        return self.chroma_url or str(self.index_dir)


def _parse(var: str, raw: str, typ) -> object:
    typ = str(typ)
    try:
        if typ.startswith("int"):
            return int(raw)
        if typ.startswith("float"):
            return float(raw)
        if typ.startswith("bool"):
            low = raw.strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError("expected true/false")
        if typ.startswith("Path"):
            return Path(raw)
        return raw
    except ValueError as exc:
        raise SettingsError(f"{var}={raw!r} is invalid: {exc}") from None


def _validate(s: Settings) -> None:
    def fail(name: str, msg: str) -> None:
        raise SettingsError(f"RAG_{name.upper()}={getattr(s, name)!r} is invalid: {msg}")

    if not 0 < s.parse_timeout <= 3600:
        fail("parse_timeout", "must be between 0 and 3600 seconds (CPU seconds per MB of a file)")
    if not 64 <= s.parse_memory_mb <= 1_048_576:
        fail("parse_memory_mb", "must be between 64 and 1048576 MB")
    if s.chunk_size < 100 or s.chunk_size > 20000:
        fail("chunk_size", "must be between 100 and 20000 characters")
    if s.chunk_overlap < 0 or s.chunk_overlap >= s.chunk_size:
        fail("chunk_overlap", "must be >= 0 and smaller than RAG_CHUNK_SIZE")
    if not 1 <= s.top_k <= 100:
        fail("top_k", "must be between 1 and 100")
    if s.embedding not in EMBEDDING_PROVIDERS:
        fail("embedding", f"choose one of {', '.join(EMBEDDING_PROVIDERS)}")
    if not 0 <= s.embedding_threads <= 256:
        fail("embedding_threads", "must be between 0 (automatic) and 256")
    if not s.embedding_model.strip():
        fail("embedding_model", "must name a model")
    if s.embedding_base_url is not None:
        u = urlparse(s.embedding_base_url)
        if u.scheme not in ("http", "https") or not u.hostname:
            fail("embedding_base_url", "expected a URL such as http://127.0.0.1:8081/v1")
    if not 1 <= s.embedding_batch_size <= 2048:
        fail("embedding_batch_size", "must be between 1 and 2048 texts per request")
    if s.embedding_timeout <= 0:
        fail("embedding_timeout", "must be positive seconds")
    if not 0 <= s.embedding_max_retries <= 10:
        fail("embedding_max_retries", "must be between 0 and 10")
    if s.answerer not in ANSWERERS:
        fail("answerer", f"choose one of {', '.join(ANSWERERS)}")
    if not 3 <= len(s.collection) <= 512:
        fail("collection", "Chroma collection names need 3-512 characters")
    if s.chroma_url is not None:
        u = urlparse(s.chroma_url)
        if u.scheme not in ("http", "https") or not u.hostname:
            fail("chroma_url", "expected a URL such as http://127.0.0.1:8000")
    if s.llm_base_url is not None:
        u = urlparse(s.llm_base_url)
        if u.scheme not in ("http", "https") or not u.hostname:
            fail("llm_base_url", "expected a URL such as http://127.0.0.1:8080/v1")
    if s.llm_timeout <= 0:
        fail("llm_timeout", "must be positive seconds")
    if not 0 < s.llm_connect_timeout < float("inf"):
        fail("llm_connect_timeout", "must be positive seconds")
    if not 0 < s.llm_deadline < float("inf"):
        fail("llm_deadline", "must be positive seconds")
    if not 0 < s.chroma_timeout < float("inf"):
        fail("chroma_timeout", "must be positive seconds")
    if not 0 <= s.llm_max_retries <= 10:
        fail("llm_max_retries", "must be between 0 and 10")
    if not 16 <= s.llm_max_tokens <= 32768:
        fail("llm_max_tokens", "must be between 16 and 32768")
    if not 0.0 <= s.min_coverage <= 1.0:
        fail("min_coverage", "must be between 0 and 1")
    if s.max_question_chars < 10:
        fail("max_question_chars", "must be at least 10")
    if not 1 <= s.serve_port <= 65535:
        fail("serve_port", "must be between 1 and 65535")
    if not 1 <= s.serve_workers <= 64:
        fail("serve_workers", "must be between 1 and 64")
    if not 0 <= s.serve_queue <= 10000:
        fail("serve_queue", "must be between 0 and 10000")
    for name in s.host_names:
        bare = name[2:] if name.startswith("*.") else name
        if not re.fullmatch(r"[a-z0-9_.-]+|\[[0-9a-f:.]+\]", bare):
            fail("allowed_hosts", f"{name!r} is not a host name (wildcards look like *.example.org)")
    if s.api_key is not None and (len(s.api_key) < 8 or any(ch.isspace() for ch in s.api_key)):
        raise SettingsError("RAG_API_KEY is invalid: use at least 8 characters without spaces")
