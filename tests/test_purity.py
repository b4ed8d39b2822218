"""detections/ is pure: no network, files, environment, clock or Azure SDK."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

DETECTIONS = Path(__file__).resolve().parent.parent / "detections"
FORBIDDEN_MODULES = {
    "os", "sys", "io", "pathlib", "socket", "http", "urllib", "requests", "azure",
    "subprocess", "shutil", "tempfile", "logging", "time", "random", "zoneinfo", "service",
}
# The only libraries outside the standard library detections/ may import, and why.
THIRD_PARTY = {
    # pySigma: the Sigma rule objects detections/sigma compiles into predicates; no pySigma
    # code runs when an event is judged, and compiling does no I/O (service/sigma reads files).
    "sigma": "detections/sigma compiles pySigma's parsed rules",
    # Google RE2 (a pySigma dependency): Sigma regexes in linear time, no backtracking.
    "re2": "detections/sigma/values.py matches Sigma regexes",
}
# Names that are pure although their module is not.
ALLOWED_FROM = {("sys", "intern")}
# Calls that read the wall clock or a file, wherever they are imported from.
FORBIDDEN_METHODS = {"now", "utcnow", "today", "getenv", "time_ns", "read_text", "read_bytes"}
FORBIDDEN_BUILTINS = {"open", "input", "breakpoint"}


def problems_in(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if all((node.module, alias.name) in ALLOWED_FROM for alias in node.names):
                continue
            names = [node.module]
        for name in names:
            if name.split(".")[0] in FORBIDDEN_MODULES:
                found.append(f"{path.name}:{node.lineno}: imports {name}")
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in FORBIDDEN_METHODS:
                found.append(f"{path.name}:{node.lineno}: calls {func.attr}()")
            elif isinstance(func, ast.Name) and func.id in FORBIDDEN_BUILTINS:
                found.append(f"{path.name}:{node.lineno}: calls {func.id}()")
    return found


def test_detections_imports_and_calls_nothing_impure() -> None:
    files = sorted(DETECTIONS.rglob("*.py"))
    assert len(files) > 20
    problems = [p for path in files for p in problems_in(path)]
    assert problems == []


def test_the_checker_catches_what_it_forbids(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import os\nfrom datetime import datetime\nfrom azure.data.tables import X\n"
        "t = datetime.now()\nopen('f')\n"
    )
    assert problems_in(bad) == [
        "bad.py:1: imports os",
        "bad.py:3: imports azure.data.tables",
        "bad.py:4: calls now()",
        "bad.py:5: calls open()",
    ]


def test_detections_imports_only_the_standard_library_and_the_allowed_libraries() -> None:
    found: dict[str, set[str]] = {}
    for path in sorted(DETECTIONS.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module \
                and node.level == 0 else []  # fmt: skip
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "detections":
                    found.setdefault(top, set()).add(path.relative_to(DETECTIONS).as_posix())
    assert set(found) <= set(THIRD_PARTY), found
    assert all(f.startswith("sigma/") for files in found.values() for f in files), found
