"""detections/testing.py (the event factories) is for the inline rule cases and the tests
only: no other module of the app imports it, and the factories themselves are pure."""

from __future__ import annotations

import ast
from pathlib import Path

from detections.testing import T0, risk_detection, risky_user, series, sign_in
from tests.test_purity import problems_in

ROOT = Path(__file__).resolve().parent.parent
APP_SOURCES = ("detections", "service", "bench", "tools")
TESTING = "detections.testing"


def imports_testing(path: Path) -> list[int]:
    """Lines of ``path`` that import detections.testing, however it is spelled."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            if any(a.name == TESTING or a.name.startswith(TESTING + ".") for a in node.names):
                lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (
            node.module == TESTING
            or (node.module == "detections" and any(a.name == "testing" for a in node.names))
        ):
            lines.append(node.lineno)
    return lines


def allowed_to_import(path: Path) -> bool:
    # A rule module's inline cases are built with the factories.
    relative = path.relative_to(ROOT)
    return relative.parent == Path("detections/rules") and relative.name != "__init__.py"


def test_only_rule_modules_import_the_factories() -> None:
    files = [p for d in APP_SOURCES for p in sorted((ROOT / d).rglob("*.py"))]
    files.append(ROOT / "function_app.py")
    assert len(files) > 100
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in files
        if not allowed_to_import(path)
        for line in imports_testing(path)
    ]
    assert offenders == []
    assert any(imports_testing(p) for p in (ROOT / "detections/rules").glob("*.py"))


def test_the_checker_sees_every_spelling(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import detections.testing\nfrom detections import testing\n"
        "from detections.testing import sign_in\nfrom detections import model\n"
    )
    assert imports_testing(bad) == [1, 2, 3]


def test_the_factories_are_pure() -> None:
    assert problems_in(ROOT / "detections" / "testing.py") == []


def test_factories_take_overrides_and_keep_the_rest() -> None:
    event = sign_in(risk_state="dismissed")
    assert event.risk_state == "dismissed" and event.principal == "alice@contoso.com"
    assert risk_detection(risk_level="high").risk_event_type == "unfamiliarFeatures"
    assert risky_user(risk_state="remediated").user_principal_name == "alice@contoso.com"


def test_series_spaces_sign_ins_and_gives_each_its_own_user_on_request() -> None:
    alice = series(3, prefix="a")
    assert [e.time for e in alice] == [T0, T0.replace(second=30), T0.replace(minute=1)]
    assert {e.principal for e in alice} == {"alice@contoso.com"}
    spray = series(2, prefix="s", per_user=True, success=False)
    assert [e.principal for e in spray] == ["s0@contoso.com", "s1@contoso.com"]
    assert not any(e.success for e in spray)
