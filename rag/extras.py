"""Optional parts of the install (pyproject's extras) and the error when one is missing.

The default install (``pip install -e .``) answers questions: ``rag index``,
``rag ask``, ``rag serve``, ``ask()``. The chat UI needs the ``ui`` extra
(Gradio), ``rag eval``'s and the benchmarks' charts the ``eval`` extra
(matplotlib); ``pip install -e '.[ui,eval]'`` installs both.

>>> require("json", "eval", "this example").__name__
'json'
>>> require("no_such_module_here", "eval", "rag eval's charts")
Traceback (most recent call last):
...
rag.extras.MissingExtra: rag eval's charts need no_such_module_here, which is not installed: pip install -e '.[eval]' (in the repository; or pip install 'rag-citations[eval]')
"""

from __future__ import annotations

import importlib

from rag.settings import SettingsError


class ProviderError(RuntimeError):
    """A provider could not be set up; the message says what to do."""


class MissingExtra(SettingsError):
    """An optional dependency is not installed; the message says which extra brings it."""


def require(module: str, extra: str, purpose: str):
    """Import ``module``, or raise :class:`MissingExtra` naming ``purpose`` and the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(f"{purpose} need {module.split('.')[0]}, which is not installed: "
                           f"pip install -e '.[{extra}]' (in the repository; or pip install "
                           f"'rag-citations[{extra}]')") from None
