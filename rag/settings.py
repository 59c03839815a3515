"""One typed settings object, read once from ``RAG_*`` environment variables.

Every option has a documented default (see README "Configuration"). An invalid
value fails at start-up with a :class:`SettingsError` naming the variable.

The options are grouped by the pipeline stage that reads them; each field is
declared once, with its variable, default and allowed range:

=============  ===============================================================
``ingest``     reading and chunking the corpus: corpus_dir, ocr, parse_timeout,
               parse_memory_mb, chunk_size, chunk_overlap
``store``      the Chroma index: index_dir, chroma_url, chroma_timeout, collection
``embeddings`` the embedder (``RAG_EMBEDDING*``): provider, threads, model,
               base_url, api_key, batch_size, timeout, max_retries
``retrieval``  top_k
``answer``     answerer, max_question_chars
``llm``        the generative answerer (``RAG_LLM_*``, ``RAG_STRICT``): model,
               base_url, api_key, timeout, connect_timeout, deadline,
               max_retries, max_tokens, strict
``serve``      ``rag serve`` and what ``rag ui`` shares with it: api_key, host,
               port, workers, queue, allowed_hosts
=============  ===============================================================

Variable names are flat, as always: ``RAG_TOP_K`` is ``settings.retrieval.top_k``,
``RAG_LLM_BASE_URL`` is ``settings.llm.base_url``, ``RAG_EMBEDDING`` is
``settings.embeddings.provider``. In code, a setting is *read* through its group
and *set* by its flat name (the variable without ``RAG_``, lower case) or by a
whole group, in ``Settings(...)``, ``Settings.from_env(env, ...)`` and
``settings.replace(...)``:

>>> from rag import Settings
>>> s = Settings.from_env({"RAG_TOP_K": "4"})
>>> s.retrieval.top_k
4
>>> s.replace(top_k=3, llm_model="qwen").llm.model, s.replace(top_k=3).retrieval.top_k
('qwen', 3)

``Settings(...)`` takes only what it is given (and the defaults); only
``from_env`` reads the environment.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Mapping
from urllib.parse import urlparse

from pydantic import AfterValidator, AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

# The repository root: defaults resolve against it so `ask()` works from any cwd
# inside a clone. Users pointing at their own folders set RAG_CORPUS_DIR.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

EMBEDDING_PROVIDERS = ("minilm-onnx", "hash", "openai")
ANSWERERS = ("extractive", "openai", "top-chunk")


class SettingsError(ValueError):
    """A RAG_* variable has an invalid value; the message names the variable."""


# --- Parsing: a variable's text as today (int(), float(), true/false words), for values given
# in code too. The message of a value that does not parse is Python's own.

class _Unparsable(ValueError):
    pass


def _number(kind):
    def parse(value: Any) -> Any:
        if isinstance(value, str):
            try:
                return kind(value)
            except ValueError as exc:
                raise _Unparsable(str(exc)) from None
        return value
    return BeforeValidator(parse)


def _flag(value: Any) -> Any:
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise _Unparsable("expected true/false")
    return value


def _url(example: str):
    def check(value: str | None) -> str | None:
        if value is not None:
            u = urlparse(value)
            if u.scheme not in ("http", "https") or not u.hostname:
                raise ValueError(f"expected a URL such as {example}")
        return value
    return AfterValidator(check)


Int = Annotated[int, _number(int)]
Float = Annotated[float, _number(float)]
Bool = Annotated[bool, BeforeValidator(_flag)]
Folder = Annotated[Path, AfterValidator(lambda p: p.expanduser())]


def _var(name: str, default: Any, invalid: str = "", *, fallback: str | None = None, secret: bool = False,
         **constraints) -> Any:
    """A field read from the variable ``name`` (then ``fallback``); ``invalid`` says why a value
    outside ``constraints`` is refused. A secret is kept out of repr and of error messages."""
    alias = AliasChoices(name, fallback) if fallback else name
    return Field(default, validation_alias=alias, repr=not secret,
                 json_schema_extra={"env": name, "invalid": invalid, "secret": secret}, **constraints)


def _env_name(field: FieldInfo) -> str:
    return field.json_schema_extra["env"]  # type: ignore[index]


class _Group(BaseModel):
    """One stage's settings: frozen, hashable; set by field name or by variable name."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_by_name=True, validate_by_alias=True)

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise _settings_error(exc, type(self)) from None


class IngestSettings(_Group):
    """Reading and chunking the corpus (``rag.ingest.loading``, ``rag.ingest.loaders``, ``rag.ingest.chunking``)."""

    corpus_dir: Folder = _var("RAG_CORPUS_DIR", PROJECT_ROOT / "seeds")
    # RAG_OCR: read scanned PDF pages and images with Tesseract when it is installed; false skips them.
    ocr: Bool = _var("RAG_OCR", True)
    # The budget of reading one file, in any format (rag.ingest.loaders.budget: every file is parsed in a
    # worker process); a file over it is skipped and named. RAG_PARSE_TIMEOUT: CPU seconds per
    # started MB of the file (wall-clock: three times that, plus 5 s); each page read by OCR adds
    # 120 s. RAG_PARSE_MEMORY_MB: memory the parser may take for one file, beyond the worker's own.
    parse_timeout: Float = _var("RAG_PARSE_TIMEOUT", 20.0,
                                "must be between 0 and 3600 seconds (CPU seconds per MB of a file)", gt=0, le=3600)
    parse_memory_mb: Int = _var("RAG_PARSE_MEMORY_MB", 2048, "must be between 64 and 1048576 MB",
                                ge=64, le=1_048_576)
    chunk_size: Int = _var("RAG_CHUNK_SIZE", 800, "must be between 100 and 20000 characters", ge=100, le=20000)
    chunk_overlap: Int = _var("RAG_CHUNK_OVERLAP", 120, "must be >= 0 and smaller than RAG_CHUNK_SIZE", ge=0)

    def model_post_init(self, context: Any) -> None:
        if self.chunk_overlap >= self.chunk_size:
            raise SettingsError(f"RAG_CHUNK_OVERLAP={self.chunk_overlap!r} is invalid: "
                                "must be >= 0 and smaller than RAG_CHUNK_SIZE")


class StoreSettings(_Group):
    """Where the index lives: an embedded Chroma folder or a Chroma server (``rag.providers``, ``rag.store.health``)."""

    index_dir: Folder = _var("RAG_INDEX_DIR", PROJECT_ROOT / "index")
    chroma_url: Annotated[str | None, _url("http://127.0.0.1:8000")] = _var("RAG_CHROMA_URL", None)
    # RAG_CHROMA_TIMEOUT: seconds per request to a Chroma server; a frozen server fails instead of hanging.
    chroma_timeout: Float = _var("RAG_CHROMA_TIMEOUT", 30.0, "must be positive seconds", gt=0, lt=float("inf"))
    collection: str = _var("RAG_COLLECTION", "corpus", "Chroma collection names need 3-512 characters",
                           min_length=3, max_length=512)


class EmbeddingSettings(_Group):
    """The embedder (``rag.providers.make_embeddings``): local ONNX model, hashing, or a remote server."""

    provider: Literal["minilm-onnx", "hash", "openai"] = _var(
        "RAG_EMBEDDING", "minilm-onnx", f"choose one of {', '.join(EMBEDDING_PROVIDERS)}")
    # minilm-onnx: cores to embed on. Indexing runs one single-threaded onnxruntime session per
    # core, batches side by side (measured faster than one session with several threads); a
    # question runs on one session with that many threads. 0 = every core this process may use.
    # openai: requests in flight at once; 0 = 4.
    threads: Int = _var("RAG_EMBEDDING_THREADS", 0, "must be between 0 (automatic) and 256", ge=0, le=256)
    # Remote embeddings (used when provider == "openai"): any OpenAI-compatible /v1/embeddings.
    model: str = _var("RAG_EMBEDDING_MODEL", "text-embedding-3-small", "must name a model",
                      pattern=r"\S")
    base_url: Annotated[str | None, _url("http://127.0.0.1:8081/v1")] = _var(
        "RAG_EMBEDDING_BASE_URL", None, fallback="OPENAI_BASE_URL")
    api_key: str | None = _var("RAG_EMBEDDING_API_KEY", None, fallback="OPENAI_API_KEY", secret=True)
    batch_size: Int = _var("RAG_EMBEDDING_BATCH_SIZE", 64, "must be between 1 and 2048 texts per request",
                           ge=1, le=2048)
    timeout: Float = _var("RAG_EMBEDDING_TIMEOUT", 60.0, "must be positive seconds", gt=0)
    max_retries: Int = _var("RAG_EMBEDDING_MAX_RETRIES", 3, "must be between 0 and 10", ge=0, le=10)


class RetrievalSettings(_Group):
    """Searching the index (``rag.retrieval``)."""

    top_k: Int = _var("RAG_TOP_K", 6, "must be between 1 and 100", ge=1, le=100)


class AnswerSettings(_Group):
    """Which answerer answers, and what a question may be (``rag.pipeline``, ``rag.providers``)."""

    answerer: Literal["extractive", "openai", "top-chunk"] = _var(
        "RAG_ANSWERER", "extractive", f"choose one of {', '.join(ANSWERERS)}")
    max_question_chars: Int = _var("RAG_MAX_QUESTION_CHARS", 2000, "must be at least 10", ge=10)


class LLMSettings(_Group):
    """The generative answerer (``rag.generate.answerer``), used when ``answer.answerer == "openai"``."""

    model: str = _var("RAG_LLM_MODEL", "gpt-4o-mini")
    base_url: Annotated[str | None, _url("http://127.0.0.1:8080/v1")] = _var(
        "RAG_LLM_BASE_URL", None, fallback="OPENAI_BASE_URL")
    api_key: str | None = _var("RAG_LLM_API_KEY", None, fallback="OPENAI_API_KEY", secret=True)
    timeout: Float = _var("RAG_LLM_TIMEOUT", 60.0, "must be positive seconds", gt=0)
    # RAG_LLM_CONNECT_TIMEOUT: seconds to open a connection to the model server.
    connect_timeout: Float = _var("RAG_LLM_CONNECT_TIMEOUT", 10.0, "must be positive seconds",
                                  gt=0, lt=float("inf"))
    # RAG_LLM_DEADLINE: seconds for a whole answer from the model (retries and streaming
    # included); a server that trickles or streams without end is cut off here.
    deadline: Float = _var("RAG_LLM_DEADLINE", 120.0, "must be positive seconds", gt=0, lt=float("inf"))
    max_retries: Int = _var("RAG_LLM_MAX_RETRIES", 2, "must be between 0 and 10", ge=0, le=10)
    # RAG_LLM_MAX_TOKENS: cap on the answer's length; keeps a rambling small model's latency bounded.
    max_tokens: Int = _var("RAG_LLM_MAX_TOKENS", 512, "must be between 16 and 32768", ge=16, le=32768)
    # RAG_STRICT: when the model fails, raise instead of falling back to the extractive answer.
    strict: Bool = _var("RAG_STRICT", False)


def _host_names(value: str) -> str:
    for name in _split_hosts(value):
        bare = name[2:] if name.startswith("*.") else name
        if not re.fullmatch(r"[a-z0-9_.-]+|\[[0-9a-f:.]+\]", bare):
            raise ValueError(f"{name!r} is not a host name (wildcards look like *.example.org)")
    return value


def _split_hosts(value: str) -> tuple[str, ...]:
    return tuple(n.strip().lower() for n in value.split(",") if n.strip())


def _api_key(value: str | None) -> str | None:
    if value is not None and (len(value) < 8 or any(ch.isspace() for ch in value)):
        raise ValueError("use at least 8 characters without spaces")
    return value


class ServeSettings(_Group):
    """``rag serve`` (the OpenAI-compatible API), and the host names ``rag ui`` shares with it."""

    # Clients must send `Authorization: Bearer <api_key>` when it is set; binding anything but
    # loopback without it refuses to start.
    api_key: Annotated[str | None, AfterValidator(_api_key)] = _var("RAG_API_KEY", None, secret=True)
    host: str = _var("RAG_SERVE_HOST", "127.0.0.1")
    port: Int = _var("RAG_SERVE_PORT", 8090, "must be between 1 and 65535", ge=1, le=65535)
    # Answers run in a pool of this many threads, so embedding never blocks the event loop;
    # up to `queue` more requests wait, beyond that clients get 429.
    workers: Int = _var("RAG_SERVE_WORKERS", 2, "must be between 1 and 64", ge=1, le=64)
    queue: Int = _var("RAG_SERVE_QUEUE", 64, "must be between 0 and 10000", ge=0, le=10000)
    # RAG_ALLOWED_HOSTS: comma-separated host names (e.g. "rag.lan,*.example.org") that `rag serve` and
    # `rag ui` also answer to when no key or password protects them; by default only loopback names,
    # so a web page cannot reach them through DNS rebinding.
    allowed_hosts: Annotated[str, AfterValidator(_host_names)] = _var("RAG_ALLOWED_HOSTS", "")


GROUPS: dict[str, type[_Group]] = {
    "ingest": IngestSettings, "store": StoreSettings, "embeddings": EmbeddingSettings,
    "retrieval": RetrievalSettings, "answer": AnswerSettings, "llm": LLMSettings, "serve": ServeSettings,
}

# Flat name (the variable without RAG_, lower case) -> (group, field): RAG_TOP_K, top_k -> retrieval.top_k.
FLAT_NAMES: dict[str, tuple[str, str]] = {
    _env_name(f)[4:].lower(): (group, name)
    for group, cls in GROUPS.items() for name, f in cls.model_fields.items()
}


def _settings_error(exc: ValidationError, model: type[BaseModel]) -> SettingsError:
    """The first problem of ``exc`` as today's message: ``RAG_X=<value> is invalid: <why>``."""
    err = exc.errors()[0]
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, SettingsError):
        return cause
    loc = list(err["loc"])
    if model is Settings and loc and loc[0] in GROUPS:
        model = GROUPS[loc.pop(0)]
    field = _field(model, loc[0]) if loc else None
    if field is None:  # not a setting at all (an unknown keyword)
        return SettingsError(f"{'.'.join(map(str, err['loc'])) or model.__name__}: {err['msg']}")
    extra = field.json_schema_extra
    why = str(cause) if isinstance(cause, ValueError) else extra["invalid"] or err["msg"]
    if extra["secret"]:
        return SettingsError(f"{extra['env']} is invalid: {why}")
    return SettingsError(f"{extra['env']}={err['input']!r} is invalid: {why}")


def _field(model: type[BaseModel], key: Any) -> FieldInfo | None:
    for name, f in model.model_fields.items():
        if key == name or (f.json_schema_extra and key in (f.json_schema_extra["env"], *_choices(f))):
            return f
    return None


def _choices(f: FieldInfo) -> tuple[str, ...]:
    alias = f.validation_alias
    return tuple(a for a in alias.choices if isinstance(a, str)) if isinstance(alias, AliasChoices) else ()


def _grouped(values: Mapping[str, Any], base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Keyword arguments by flat name or by group, as keyword arguments by group."""
    out: dict[str, Any] = dict(base or {})
    for key, value in values.items():
        if key in GROUPS:
            out[key] = value
    for key, value in values.items():
        if key in GROUPS:
            continue
        if key not in FLAT_NAMES:
            raise TypeError(f"{key!r} is not a setting (flat names: {', '.join(FLAT_NAMES)}; "
                            f"groups: {', '.join(GROUPS)})")
        group, name = FLAT_NAMES[key]
        current = out.get(group)
        fields = dict(current.__dict__) if isinstance(current, BaseModel) else dict(current or {})
        out[group] = {**fields, name: value}
    return out


class _Environment(PydanticBaseSettingsSource):
    """The ``RAG_*`` variables (and ``OPENAI_*`` fallbacks) of one mapping, by group.

    An empty variable counts as unset."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self.environ = environ

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        cls = GROUPS[field_name]
        found = {}
        for name, f in cls.model_fields.items():
            for var in (_env_name(f), *_choices(f)):
                if self.environ.get(var):
                    found[name] = self.environ[var]
                    break
        return found, field_name, False

    def __call__(self) -> dict[str, Any]:
        values = {}
        for group in GROUPS:
            found, _, _ = self.get_field_value(self.settings_cls.model_fields[group], group)
            if found:
                values[group] = found
        return values


class Settings(BaseSettings):
    """All configuration of the pipeline, by stage. Frozen, hashable, passed explicitly.

    >>> Settings(top_k=3).retrieval.top_k
    3
    """

    model_config = SettingsConfigDict(frozen=True, extra="forbid")

    ingest: IngestSettings = Field(default_factory=IngestSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    embeddings: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    serve: ServeSettings = Field(default_factory=ServeSettings)

    def __init__(self, **values: Any) -> None:
        """Set by flat name (``top_k=3``, ``llm_base_url=...``) or by group (``llm=LLMSettings(...)``)."""
        try:
            super().__init__(**_grouped(values))
        except ValidationError as exc:
            raise _settings_error(exc, Settings) from None

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only what is passed: the environment is read by from_env, from the mapping it is given.
        return (init_settings,)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> "Settings":
        """Read ``RAG_*`` variables (and OPENAI_* fallbacks) into a Settings; ``overrides``
        (flat names or groups, as in ``Settings(...)``) win over the variables.

        >>> Settings.from_env({"RAG_ANSWERER": "extractive"}).answer.answerer
        'extractive'
        >>> Settings.from_env({"OPENAI_BASE_URL": "http://127.0.0.1:1/v1"}).llm.base_url
        'http://127.0.0.1:1/v1'
        """
        env = os.environ if environ is None else environ
        return cls(**_grouped(overrides, _Environment(cls, env)()))

    def replace(self, **changes) -> "Settings":
        """A copy with some settings changed, by flat name or by group (validated again).

        >>> Settings().replace(top_k=2, answerer="top-chunk").answer.answerer
        'top-chunk'
        """
        return type(self)(**_grouped(changes, {g: getattr(self, g) for g in GROUPS}))

    @property
    def host_names(self) -> tuple[str, ...]:
        """``serve.allowed_hosts`` as a tuple of names.

        >>> Settings(allowed_hosts="rag.lan, *.example.org").host_names
        ('rag.lan', '*.example.org')
        """
        return _split_hosts(self.serve.allowed_hosts)

    @property
    def model_configured(self) -> bool:
        """True when generative answers are on: the openai answerer is chosen, or a model
        server URL or key is set (the one rule `rag serve`'s model list and the UI follow).

        >>> Settings().model_configured, Settings(llm_base_url="http://127.0.0.1:8080/v1").model_configured
        (False, True)
        """
        return self.answer.answerer == "openai" or bool(self.llm.base_url or self.llm.api_key)

    @property
    def index_location(self) -> str:
        """Human-readable place of the index: a server URL or a directory."""
        return self.store.chroma_url or str(self.store.index_dir)
