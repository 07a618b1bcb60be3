"""Modules imported on first attribute access: the API and page modules name the domain services they call
(``reg = lazy("registry.services")``) without importing them — and numpy, scipy, jsonschema … behind them —
when the app is created. A CLI command or a worker then pays only for the modules it actually uses.

Policies are not affected: ``portal.create_app`` imports every package's policies eagerly.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class _LazyModule:
    __slots__ = ("_module", "_name")

    def __init__(self, name: str):
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}{' (loaded)' if self._module is not None else ''}>"


def lazy(name: str) -> Any:
    """A stand-in for ``import name`` that imports the module when one of its attributes is first read."""
    return _LazyModule(name)
