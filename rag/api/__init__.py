"""The OpenAI-compatible HTTP API (``rag serve``): an adapter over ``ask()``.

>>> from rag.api import create_app, start_in_thread  # doctest: +SKIP
>>> server = start_in_thread(create_app(Settings()), "127.0.0.1", 8091)  # doctest: +SKIP
"""

from .app import create_app
from .serve import run, start_in_thread

__all__ = ["create_app", "run", "start_in_thread"]
