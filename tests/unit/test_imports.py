"""The import rules of docs/architecture.md, checked over every module's source (function-level imports too).

- `ingest` (the write path) never imports `bot`.
- The core (`bot` outside the front ends) never imports a front end.
- A front end (`bot.api`, `bot.telegram`, `bot.dingtalk`) never imports another; the chat front ends
  share `bot.chat`. Only `bot.cli`, which starts them, imports front ends.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FRONT_ENDS = ("bot.api", "bot.telegram", "bot.dingtalk")
LAUNCHERS = ("bot.cli", "bot.__main__")


def module_name(path: Path) -> str:
    """bot/api/app.py → bot.api.app; a package's __init__ is the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, name: str | None = None) -> set[str]:
    """Every module the file imports, relative imports resolved (`name`: the module's dotted name)."""
    name = name or module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join([*base, node.module] if node.module else base)
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def within(module: str, package: str) -> bool:
    """True when module is the package or inside it."""
    return module == package or module.startswith(package + ".")


def front_end_of(module: str) -> str | None:
    """The front end a module belongs to, if any."""
    return next((front for front in FRONT_ENDS if within(module, front)), None)


SOURCES = sorted([*ROOT.joinpath("bot").rglob("*.py"), *ROOT.joinpath("ingest").rglob("*.py")])


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_import_rules_hold(path: Path) -> None:
    name = module_name(path)
    own = front_end_of(name)
    for target in imports(path):
        if within(name, "ingest"):
            assert not within(target, "bot"), f"{name} (write path) imports {target}"
        elif name in LAUNCHERS:
            continue
        elif own is None:
            assert front_end_of(target) is None, f"core module {name} imports front end {target}"
        else:
            other = front_end_of(target)
            assert other in (None, own), f"front end {name} imports another front end: {target}"


def test_the_rules_see_every_kind_of_import(tmp_path: Path) -> None:
    """The checker itself: absolute, from-, relative and function-level imports are all found."""
    source = tmp_path / "handlers.py"
    source.write_text("import bot.service\nfrom ..chat import messages\nfrom . import format\n"
                      "def late():\n    from bot.api import create_app\n", encoding="utf-8")
    found = imports(source, "bot.telegram.handlers")
    assert {"bot.service", "bot.chat", "bot.chat.messages", "bot.telegram.format", "bot.api"} <= found
    assert front_end_of("bot.telegram.webhook") == "bot.telegram" and front_end_of("bot.telegrams") is None
    assert module_name(ROOT / "bot" / "api" / "__init__.py") == "bot.api"
