"""The layers of docs/architecture.md, kept: data flows one way, cli → audit/tools → api → core → policy.

Every import in the source (at the top of a module or inside a function) is read with `ast` and
checked against the layer of the module that makes it. A module may import its own layer and the
layers below, never one above; `audit` and `tools` do not import each other (the audit and the
generator keep independent ideas of a violation); the core never reads YAML (it compiles a model).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# (package prefix, rank): a module belongs to the longest prefix that names it.
LAYERS: tuple[tuple[str, int], ...] = (
    ("policy", 0),
    ("engine.core", 1),
    ("engine.io", 2),
    ("engine.executor", 2),
    ("engine.api", 3),
    ("engine.audit", 4),
    ("engine.tools", 4),
    ("engine.service", 4),
    ("engine.cli", 5),
)
SIBLINGS_APART = (("engine.audit", "engine.tools"), ("engine.tools", "engine.audit"))
CORE_NEVER_IMPORTS = ("policy.source", "policy.loader", "yaml")


def _layer(module: str) -> tuple[str, int] | None:
    found = [(p, r) for p, r in LAYERS if module == p or module.startswith(p + ".")]
    return max(found, key=lambda pr: len(pr[0])) if found else None


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            # `from engine import cli` imports the module engine.cli
            found += [(node.lineno, f"{target}.{a.name}") for a in node.names]
            found.append((node.lineno, target))
    return found


def _sources() -> list[Path]:
    return sorted(p for pkg in ("policy", "engine") for p in (ROOT / pkg).rglob("*.py"))


def _violations(path: Path) -> list[str]:
    module = _module_name(path)
    own = _layer(module)
    if own is None:
        return []
    out: dict[tuple[int, str], str] = {}  # one report per line and reason
    for line, target in _imports(path, module):
        theirs = _layer(target)
        where = f"{path.relative_to(ROOT)}:{line}: {module} imports {target}"
        if theirs is not None and theirs[1] > own[1]:
            out.setdefault((line, "up"), f"{where} (layer {theirs[0]} is above {own[0]})")
        if theirs is not None and (own[0], theirs[0]) in SIBLINGS_APART:
            out.setdefault((line, "apart"), f"{where} ({own[0]} and {theirs[0]} are kept apart)")
        if own[0] == "engine.core" and any(target == b or target.startswith(b + ".") for b in CORE_NEVER_IMPORTS):
            out.setdefault((line, "yaml"), f"{where} (the core compiles a model; reading YAML is policy's job)")
    return list(out.values())


def test_every_module_is_in_a_layer() -> None:
    modules = [_module_name(p) for p in _sources()]
    stray = [m for m in modules if _layer(m) is None and m not in ("engine", "policy")]
    assert not stray, f"modules outside every layer of docs/architecture.md: {stray}"


def test_no_layer_imports_upward() -> None:
    problems = [v for p in _sources() for v in _violations(p)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("source", "expected"), [
    ("from engine.cli import main\n", "engine.cli"),
    ("def f():\n    from engine.tools import impact\n", "engine.tools"),
    ("from ..api import Policy\n", "engine.api"),
])
def test_the_check_sees_an_upward_import(tmp_path: Path, source: str, expected: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The check itself can fail: an upward import planted in a core module is reported."""
    fake = tmp_path / "engine" / "core" / "planted.py"
    fake.parent.mkdir(parents=True)
    fake.write_text(source, encoding="utf-8")
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    found = _violations(fake)
    assert found and expected in found[0], found


def test_docs_architecture_lists_every_module() -> None:
    """docs/architecture.md gives one line per module: a new or moved module is listed there too."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    listed = {p for p in _sources() if p.name != "__main__.py" and ast.get_docstring(ast.parse(p.read_text("utf-8")))}
    missing = [str(p.relative_to(ROOT)) for p in sorted(listed) if f"`{p.relative_to(ROOT).as_posix()}`" not in text]
    assert not missing, f"modules missing from docs/architecture.md: {missing}"
