"""Lazy exports for the stage packages: ``from rag.store import open_collection``
imports :mod:`rag.store.chroma` only when the name is first used, so that a
light command (a ``rag index`` that finds nothing changed) stays light.

>>> getattr_, dir_ = exports("json", {"loads": "decoder:JSONDecoder"})
>>> getattr_("loads").__name__
'JSONDecoder'
"""

from __future__ import annotations

import importlib


def exports(package: str, table: dict[str, str]):
    """A module ``__getattr__`` and ``__dir__`` serving ``table``: public name ->
    ``"submodule"`` (same name there) or ``"submodule:attribute"``."""
    def __getattr__(name: str):
        try:
            where = table[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        module, _, attr = where.partition(":")
        value = getattr(importlib.import_module(f"{package}.{module}"), attr or name)
        importlib.import_module(package).__dict__[name] = value
        return value

    def __dir__():
        return sorted(table)

    return __getattr__, __dir__
