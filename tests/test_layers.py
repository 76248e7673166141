"""The declared layers hold: no upward import, no package cycle, deferred imports justified.

Every module of the package is parsed (not imported): module-level imports and imports
deferred into functions alike. The layers come from rubricate.guidelines.kernel.layers.
"""
from __future__ import annotations

import ast
import shutil
from dataclasses import dataclass
from pathlib import Path

from rubricate.guidelines.kernel.layers import DEFERRED_REASON, GROUPING_PACKAGES, LAYERS, layer_of, unit_of

REPO = Path(__file__).resolve().parents[1]
SKIP = {"tests", "bench", "build", "dist", ".git", ".ci", "__pycache__"}
MODULE_MARKER = f"# deferred imports: {DEFERRED_REASON}"


@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported module (absolute, rubricate.* or third party)
    path: Path
    line: int
    deferred: bool
    justified: bool


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(["rubricate", *parts])


def package_modules(root: Path) -> dict[str, Path]:
    out = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).parts
        if any(p in SKIP or p.startswith(".") for p in rel[:-1]):
            continue
        out[module_name(root, path)] = path
    return out


def _is_module(root: Path, dotted: str) -> bool:
    rel = Path(*dotted.split(".")[1:]) if "." in dotted else Path()
    return (root / rel).with_suffix(".py").is_file() or (root / rel / "__init__.py").is_file()


def _justified(lines: list[str], node: ast.stmt) -> bool:
    """A ``start-up time`` comment on the import, or above it in its block of comments and imports."""
    if any(DEFERRED_REASON in lines[i] for i in range(node.lineno - 1, node.end_lineno)):
        return True
    i = node.lineno - 2
    while i >= 0 and lines[i].strip().startswith(("#", "from ", "import ")):
        if DEFERRED_REASON in lines[i]:
            return True
        i -= 1
    return False


def imports_of(root: Path, module: str, path: Path) -> list[Import]:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    module_wide = any(line.startswith(MODULE_MARKER) for line in lines)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: list[Import] = []

    def visit(node: ast.AST, deferred: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = deferred or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                if isinstance(child, ast.Import):
                    targets = [a.name for a in child.names]
                else:
                    if child.level:
                        base = package.split(".")[: len(package.split(".")) - child.level + 1]
                        mod = ".".join(base + ([child.module] if child.module else []))
                    else:
                        mod = child.module or ""
                    targets = [f"{mod}.{a.name}" if mod.startswith("rubricate") and _is_module(root, f"{mod}.{a.name}")
                               else mod for a in child.names]
                ok = deferred and (module_wide or _justified(lines, child))
                found.extend(Import(module, t, path, child.lineno, deferred, ok) for t in dict.fromkeys(targets))
            visit(child, inside)

    visit(ast.parse(text, filename=str(path)), False)
    return found


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every elementary cycle reachable by DFS (enough to name one per strongly connected part)."""
    found, state = [], {}

    def dfs(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                dfs(nxt, stack + [nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            dfs(node, [node])
    return found


def violations(root: Path) -> list[str]:
    """Every breach of the layer rules in the package rooted at ``root``, one line each."""
    problems: list[str] = []
    units: dict[str, set[str]] = {}
    for module, path in package_modules(root).items():
        where = path.relative_to(root)
        if module not in GROUPING_PACKAGES and layer_of(module) is None:
            problems.append(f"{where}: module {module} is in no declared layer")
            continue
        for imp in imports_of(root, module, path):
            at = f"{where}:{imp.line}"
            if imp.deferred and not imp.justified:
                problems.append(f"{at}: deferred import of {imp.target} without a '{DEFERRED_REASON}' comment")
            if not imp.target.startswith("rubricate"):
                continue
            if module in GROUPING_PACKAGES:
                problems.append(f"{at}: grouping package {module} imports {imp.target}")
                continue
            to_layer = layer_of(imp.target)
            if to_layer is None:
                if imp.target not in GROUPING_PACKAGES:
                    problems.append(f"{at}: {imp.target} is in no declared layer")
                continue
            if to_layer > layer_of(module):
                problems.append(f"{at}: upward import {module} (layer {layer_of(module) + 1}) -> "
                                f"{imp.target} (layer {to_layer + 1})")
            a, b = unit_of(module), unit_of(imp.target)
            if a != b:
                units.setdefault(a, set()).add(b)
    for cycle in _cycles(units):
        problems.append("package cycle: " + " -> ".join(cycle))
    return problems


def test_layers_are_declared_once_without_duplicates():
    packages = [p for layer in LAYERS for p in layer]
    assert len(packages) == len(set(packages))
    for package in packages:
        assert _is_module(REPO, package), package


def test_every_module_respects_the_layers():
    assert package_modules(REPO), "no modules found"
    assert violations(REPO) == []


def test_the_check_sees_module_level_and_deferred_imports():
    imports = imports_of(REPO, "rubricate.cli", REPO / "cli.py")
    assert any(i.deferred and i.target.startswith("rubricate.") for i in imports)
    assert any(not i.deferred for i in imports)


def _copy(tmp_path: Path) -> Path:
    copy = tmp_path / "rubricate"
    shutil.copytree(REPO, copy, ignore=shutil.ignore_patterns(".git", "__pycache__", "build", "dist", "tests"))
    assert violations(copy) == []
    return copy


def test_a_back_import_in_a_copy_fails_the_check(tmp_path):
    copy = _copy(tmp_path)
    target = copy / "guidelines" / "kernel" / "stats.py"
    target.write_text(target.read_text(encoding="utf-8") + "\nfrom rubricate.rubrics.evaluation import summary\n",
                      encoding="utf-8")
    problem, *also = violations(copy)
    assert problem.startswith("guidelines/kernel/stats.py:") and "upward import" in problem
    assert "rubricate.rubrics.evaluation.summary (layer 6)" in problem
    # the back-import also closes a cycle (the evaluation package uses the kernel)
    assert also and all(p.startswith("package cycle: rubricate.guidelines.kernel -> rubricate.rubrics.evaluation")
                        for p in also)


def test_a_deferred_back_import_or_an_unjustified_one_fails(tmp_path):
    copy = _copy(tmp_path)
    target = copy / "ontology" / "table.py"
    target.write_text(target.read_text(encoding="utf-8")
                      + "\n\ndef _late():\n    from rubricate.compiler import compile  # start-up time\n"
                      + "\n\ndef _lazy():\n    import json\n", encoding="utf-8")
    problems = violations(copy)
    assert any("upward import rubricate.ontology.table" in p and "rubricate.compiler.compile" in p for p in problems)
    assert any("deferred import of json without" in p for p in problems)


def test_a_cycle_between_packages_of_one_layer_fails(tmp_path):
    copy = _copy(tmp_path)
    target = copy / "rubrics" / "report" / "__init__.py"
    target.write_text(target.read_text(encoding="utf-8") + "\nfrom rubricate.rubrics.stigma import plot\n",
                      encoding="utf-8")
    target = copy / "rubrics" / "stigma" / "__init__.py"
    target.write_text(target.read_text(encoding="utf-8") + "\nfrom rubricate.rubrics.report import plots\n",
                      encoding="utf-8")
    problems = violations(copy)
    assert any(p.startswith("package cycle:") and "rubricate.rubrics.report" in p and "rubricate.rubrics.stigma" in p
               for p in problems)


def test_pyproject_ships_every_package_folder():
    """Every folder of the package holding an __init__.py is listed in pyproject.toml's packages
    (so the wheel has it, and the source-scanning tests, which read that list, see it)."""
    from tests.checkout import package_sources
    shipped = {p.parent for p in package_sources()}
    folders = {p.parent for p in package_modules(REPO).values() if p.name == "__init__.py"}
    assert folders - shipped == set()
    assert REPO / "cli.py" in package_sources()
