"""The layering of docs/architecture.md holds, and the checks that enforce it can fail.

`make lint` runs import-linter (contracts in pyproject.toml); these tests prove the contracts
catch a planted violation in a copy of the tree, and check what import-linter cannot: no
function-local or ImportError-guarded imports of the project's own packages, and the size limits
of the orchestration code (modules <= 400 lines, functions <= 60 lines in ``stampede/``).
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("stampede", "target_agent", "loadtests", "experiments", "reports", "faults", "examples")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(cwd / "pyproject.toml")],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's packages and pyproject.toml copied to a temporary directory."""
    dest = tmp_path_factory.mktemp("layering")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, dest / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    return dest


def test_layer_contracts_hold_on_the_tree() -> None:
    """Every import-linter contract in pyproject.toml is kept by the repository as it is."""
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "planted", "contract"),
    [
        (
            "target_agent/agent/main.py",
            "import stampede.errors\n",
            "the agent under test imports nothing of the harness",
        ),
        (
            "reports/__init__.py",
            "import stampede.suite\n",
            "reports do not import orchestration",
        ),
        (
            "stampede/errors.py",
            "import stampede.suite\n",
            "no import cycles inside stampede",
        ),
    ],
    ids=["agent-imports-harness", "reports-imports-suite", "cycle-in-stampede"],
)
def test_a_planted_violation_fails_the_lint(
    tree_copy: Path, module: str, planted: str, contract: str
) -> None:
    """An import added against a contract in a copy of the tree makes lint-imports fail on it."""
    path = tree_copy / module
    original = path.read_text()
    try:
        path.write_text(original + "\n" + planted)
        result = _lint(tree_copy)
    finally:
        path.write_text(original)
    assert result.returncode != 0, result.stdout
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, result.stdout


def _production_files() -> Iterator[Path]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "__pycache__" not in path.parts:
                yield path


def _is_own(module: str | None) -> bool:
    return bool(module) and str(module).split(".")[0] in PACKAGES


def _own_imports(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if _is_own(alias.name)]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and _is_own(node.module):
        return [str(node.module)]
    return []


LAZY_MARK = "# lazy:"


def _function_local_imports(tree: ast.Module, lines: list[str]) -> list[tuple[int, str]]:
    """Imports of our packages inside functions, except those marked ``# lazy: <why>``.

    The one accepted reason is start-up cost (e.g. `stampede --help` must not import pandas):
    the mark, on the import's line or the line above, says so where a reader sees it.
    """
    found = []
    for func in ast.walk(tree):
        if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(func):
                names = _own_imports(node)
                if not names:
                    continue
                lineno = getattr(node, "lineno", 0)
                if LAZY_MARK not in " ".join(lines[max(0, lineno - 2) : lineno]):
                    found += [(lineno, name) for name in names]
    return sorted(set(found))


def _guarded_imports(tree: ast.Module) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try):
            continue
        catches_import_error = any(
            handler.type is not None and "ImportError" in ast.unparse(handler.type)
            for handler in node.handlers
        )
        if catches_import_error:
            for inner in node.body:
                found += [(inner.lineno, name) for name in _own_imports(inner)]
    return found


def test_the_import_checks_see_a_planted_local_and_guarded_import() -> None:
    """The AST checks below are not vacuous: they find both patterns in a sample."""
    source = (
        "def f():\n    from stampede import stack\n"
        "def g():\n    # lazy: start-up time\n    import reports.render\n"
        "try:\n    import reports.gate\nexcept ImportError:\n    pass\n"
    )
    sample = ast.parse(source)
    assert _function_local_imports(sample, source.splitlines()) == [(2, "stampede")]
    assert _guarded_imports(sample) == [(7, "reports.gate")]


def test_no_function_local_or_guarded_imports_of_the_project() -> None:
    """The project's own modules are imported at module top, unguarded (cycles show in lint)."""
    problems = []
    for path in _production_files():
        text = path.read_text()
        tree = ast.parse(text, filename=str(path))
        rel = path.relative_to(ROOT)
        problems += [f"{rel}:{line}: function-local import of {m}" for line, m in
                     _function_local_imports(tree, text.splitlines())]  # fmt: skip
        problems += [f"{rel}:{line}: ImportError-guarded import of {m}" for line, m in
                     _guarded_imports(tree)]  # fmt: skip
    assert not problems, "\n".join(problems)


def test_stampede_modules_and_functions_stay_small() -> None:
    """No module in stampede/ over 400 lines, no function over 60 lines (issue "Seams")."""
    problems = []
    for path in sorted((ROOT / "stampede").rglob("*.py")):
        text = path.read_text()
        rel = path.relative_to(ROOT)
        lines = len(text.splitlines())
        if lines > MAX_MODULE_LINES:
            problems.append(f"{rel}: {lines} lines > {MAX_MODULE_LINES}")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    problems.append(f"{rel}:{node.lineno}: {node.name}() {length} lines")
    assert not problems, "\n".join(problems)
