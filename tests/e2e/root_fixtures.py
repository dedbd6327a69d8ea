"""tests/conftest.py as an importable module (HashEmbedder, SMALL_CORPUS, write_docs).

Module-scoped fixtures need these helpers outside pytest's fixture injection, and the plain name
`conftest` is taken by tests/e2e/conftest.py, so the root one is loaded under a name of its own.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

_NAME = "dutydesk_tests_root_conftest"


def _load() -> ModuleType:
    if _NAME not in sys.modules:
        spec = importlib.util.spec_from_file_location(_NAME, Path(__file__).resolve().parents[1] / "conftest.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[_NAME] = module
    return sys.modules[_NAME]


FIXTURES = _load()
