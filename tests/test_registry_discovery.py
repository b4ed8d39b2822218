"""Rules are the modules of detections.rules: a new rule is one new file, found by the
registry, its inline cases run, and listed by ``riskwatch rules --json``."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import detections.rules
from detections import registry
from detections.registry import RuleModuleError, load_rules
from service.cli.commands import main
from tests.test_rule_cases import run_case

THROWAWAY = '''
"""A throwaway rule: sign-ins from one test address."""

from __future__ import annotations

from datetime import timedelta

from detections.model import Event, Severity, SignIn
from detections.rule import Context, Finding, Rule, RuleTest
from detections.testing import sign_in


def match(event: Event, ctx: Context) -> Finding | None:
    if isinstance(event, SignIn) and event.ip_address == "198.51.100.7":
        return Finding(title=f"Sign-in from the test address for {event.principal}")
    return None


RULE = Rule(
    id="{rule_id}",
    version=1,
    title="Sign-in from the test address",
    description="A sign-in from 198.51.100.7.",
    severity=Severity.LOW,
    risk_score=21,
    mitre=("T1078",),
    kinds=("signIn",),
    dedup_fields=("principal",),
    dedup_window=timedelta(hours=1),
    investigation=("Ask the user.",),
    false_positives=("A test.",),
    references=("https://example.test/",),
    match=match,
    tests=(
        RuleTest(name="from the address", event=sign_in(ip_address="{positive_ip}"), expect=True),
        RuleTest(name="elsewhere", event=sign_in(ip_address="203.0.113.10"), expect=False),
    ),
)
'''

AddRule = Callable[..., Path]


@pytest.fixture
def add_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AddRule]:
    """Writes one rule module into a directory that is part of detections.rules."""
    extra = tmp_path / "rules"
    extra.mkdir()
    monkeypatch.setattr(detections.rules, "__path__", [*detections.rules.__path__, str(extra)])
    written: list[str] = []

    def add(file_name: str, rule_id: str, positive_ip: str = "198.51.100.7") -> Path:
        path = extra / f"{file_name}.py"
        source = THROWAWAY.replace("{rule_id}", rule_id).replace("{positive_ip}", positive_ip)
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        written.append(f"detections.rules.{file_name}")
        registry.all_rules.cache_clear()
        return path

    yield add
    for name in written:
        sys.modules.pop(name, None)
    registry.all_rules.cache_clear()


def test_the_shipped_rules_are_the_modules_of_the_package() -> None:
    modules = sorted(
        p.stem for p in Path(detections.rules.__file__).parent.glob("*.py")
        if not p.stem.startswith("_")
    )
    assert [rule.id for rule in load_rules()] == modules


def test_a_new_rule_is_one_file(add_rule: AddRule, capsys: pytest.CaptureFixture[str]) -> None:
    add_rule("test_address_sign_in", "test_address_sign_in")
    rules = {rule.id: rule for rule in load_rules()}
    assert "test_address_sign_in" in rules  # discovered and valid against the policy
    new = rules["test_address_sign_in"]
    assert [case.name for case in new.tests] == ["from the address", "elsewhere"]
    for case in new.tests:
        run_case(new, case)  # the same runner as tests/test_rule_cases.py
    assert main(["rules", "--json"]) == 0
    listed = {json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()}
    assert "test_address_sign_in" in listed


def test_the_inline_cases_of_a_new_rule_really_run(add_rule: AddRule) -> None:
    # The positive case's event does not match: the runner must say so.
    add_rule("wrong_case_rule", "wrong_case_rule", positive_ip="192.0.2.1")
    new = next(rule for rule in load_rules() if rule.id == "wrong_case_rule")
    with pytest.raises(AssertionError, match="expected True"):
        run_case(new, new.tests[0])


def test_a_module_named_unlike_its_rule_id_is_refused(add_rule: AddRule) -> None:
    path = add_rule("misnamed_rule", "another_name")
    with pytest.raises(RuleModuleError) as caught:
        load_rules()
    message = str(caught.value)
    assert str(path) in message
    assert "'another_name'" in message and "'misnamed_rule'" in message


def test_a_module_without_a_rule_is_refused(add_rule: AddRule) -> None:
    path = add_rule("no_rule_here", "no_rule_here")
    path.write_text('"""Helpers, not a rule."""\n', encoding="utf-8")
    with pytest.raises(RuleModuleError, match="must define RULE"):
        load_rules()
