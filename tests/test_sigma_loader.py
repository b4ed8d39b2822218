"""Reading a folder of Sigma rules (service.sigma.loader): SigmaHQ's rules and hostile files."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from service.sigma.loader import (
    MAX_ALIASES,
    MAX_RULE_BYTES,
    SigmaFolderError,
    load_folder,
    rules_from_setting,
)

RULE = """\
title: {title}
id: {uuid}
status: test
description: test rule
logsource:
    product: azure
    service: signinlogs
detection:
    selection:
        ResultType: 50053
    condition: selection
level: medium
"""
UUIDS = ["11111111-2222-4333-8444-555555555555", "22222222-3333-4444-8555-666666666666"]


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_sigmahq_entra_rules_78_of_81_supported_and_why_not_the_rest(peer_corpus: Path) -> None:
    loaded = load_folder(peer_corpus / "sigma")
    assert len(loaded.verdicts) == 81
    assert len(loaded.rules) == 78 >= 60
    unsupported = {v.file: v.reason for v in loaded.verdicts if v.status == "unsupported"}
    assert set(unsupported) == {
        "audit_logs/azure_user_password_change.yml",
        "signin_logs/azure_ad_sign_ins_from_unknown_devices.yml",
        "signin_logs/azure_legacy_authentication_protocols.yml",
    }
    assert "placeholder" in unsupported["audit_logs/azure_user_password_change.yml"]
    assert "'NetworkLocationDetails' is not mapped" in \
        unsupported["signin_logs/azure_ad_sign_ins_from_unknown_devices.yml"]  # fmt: skip
    assert "'ActivityDetails' is not mapped" in \
        unsupported["signin_logs/azure_legacy_authentication_protocols.yml"]  # fmt: skip
    assert all(r.startswith("line ") for r in unsupported.values())
    services = {v.service for v in loaded.verdicts}
    assert services == {"riskdetection", "signinlogs", "auditlogs"}
    ids = [r.id for r in loaded.rules]
    assert len(set(ids)) == len(ids) and all(i.startswith("sigma:") for i in ids)


def test_subfolders_are_read_and_other_files_ignored(tmp_path: Path) -> None:
    _write(tmp_path, "a/b/one.yml", RULE.format(title="one", uuid=UUIDS[0]))
    _write(tmp_path, "two.yaml", RULE.format(title="two", uuid=UUIDS[1]))
    _write(tmp_path, "README.md", "not a rule")
    loaded = load_folder(tmp_path)
    assert [v.file for v in loaded.verdicts] == ["two.yaml", "a/b/one.yml"]
    assert len(loaded.rules) == 2


def test_a_broken_file_names_its_line_and_never_stops_the_others(tmp_path: Path) -> None:
    _write(tmp_path, "a_bad.yml", "title: x\ndetection:\n  selection: [unclosed\n")
    _write(tmp_path, "b_good.yml", RULE.format(title="good", uuid=UUIDS[0]))
    _write(tmp_path, "c_modifier.yml", RULE.format(title="m", uuid=UUIDS[1]).replace(
        "ResultType: 50053", "ResultType|nosuchmodifier: 50053"))
    loaded = load_folder(tmp_path)
    by_file = {v.file: v for v in loaded.verdicts}
    assert by_file["b_good.yml"].status == "supported"
    bad = by_file["a_bad.yml"]
    assert bad.status == "unsupported" and bad.reason.startswith("parse error at line ")
    assert int(bad.reason.split("line ")[1].split(":")[0]) in (3, 4)
    modifier = by_file["c_modifier.yml"]
    assert modifier.status == "unsupported" and "nosuchmodifier" in modifier.reason
    assert modifier.reason.startswith("line 10:")  # the line of the modifier


def test_a_yaml_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 12)]
    _write(tmp_path, "bomb.yml", "\n".join(lines) + "\ntitle: boom\n")
    _write(tmp_path, "good.yml", RULE.format(title="good", uuid=UUIDS[0]))
    started = time.perf_counter()
    loaded = load_folder(tmp_path)
    assert time.perf_counter() - started < 5
    bomb = next(v for v in loaded.verdicts if v.file == "bomb.yml")
    assert bomb.status == "unsupported" and "YAML bomb" in bomb.reason
    assert f"more than {MAX_ALIASES}" in bomb.reason
    assert len(loaded.rules) == 1


def test_a_few_aliases_still_pass_pysigmas_own_expansion_check(tmp_path: Path) -> None:
    # Under the alias count, a still-exponential document is refused by pySigma's check.
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 20)}]" for i in range(1, 5)]
    _write(tmp_path, "wide.yml", "\n".join(lines) + "\n" + RULE.format(title="w", uuid=UUIDS[0]))
    (verdict,) = load_folder(tmp_path).verdicts
    assert verdict.status == "unsupported"


def test_a_symlink_outside_the_folder_is_refused(tmp_path: Path) -> None:
    outside = _write(tmp_path / "elsewhere", "secret.yml", RULE.format(title="s", uuid=UUIDS[0]))
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "link.yml").symlink_to(outside)
    _write(rules, "inside.yml", RULE.format(title="inside", uuid=UUIDS[1]))
    (rules / "inner.yml").symlink_to(rules / "inside.yml")  # inside: fine, but same id
    loaded = load_folder(rules)
    by_file = {v.file: v for v in loaded.verdicts}
    assert by_file["link.yml"].status == "unsupported"
    assert "outside the rules folder" in by_file["link.yml"].reason
    assert by_file["inner.yml"].status == "supported"
    assert "duplicate id" in by_file["inside.yml"].reason


def test_a_symlinked_folder_is_not_followed(tmp_path: Path) -> None:
    _write(tmp_path / "elsewhere", "secret.yml", RULE.format(title="s", uuid=UUIDS[0]))
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "sub").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    assert load_folder(rules).verdicts == ()


def test_oversized_and_non_utf8_files_are_refused(tmp_path: Path) -> None:
    _write(tmp_path, "big.yml", "# " + "x" * MAX_RULE_BYTES + "\n")
    (tmp_path / "latin.yml").write_bytes(b"title: caf\xe9\n")
    reasons = {v.file: v.reason for v in load_folder(tmp_path).verdicts}
    assert "more than the" in reasons["big.yml"]
    assert reasons["latin.yml"] == "parse error at line 1: not UTF-8"


def test_a_correlation_rule_is_listed_as_unsupported(tmp_path: Path) -> None:
    base = RULE.format(title="lockout", uuid=UUIDS[0]).replace("level: medium\n",
                                                                "name: lockout\nlevel: medium\n")
    correlation = f"""{base}---
title: many lockouts
id: {UUIDS[1]}
correlation:
    type: event_count
    rules:
        - lockout
    group-by:
        - UserPrincipalName
    timespan: 1h
    condition:
        gte: 10
"""
    _write(tmp_path, "c.yml", correlation)
    verdicts = load_folder(tmp_path).verdicts
    assert [v.status for v in verdicts] == ["supported", "unsupported"]
    assert "correlation rule" in verdicts[1].reason


def test_a_regex_re2_cannot_run_is_refused_naming_the_file(tmp_path: Path) -> None:
    _write(tmp_path, "backref.yml", RULE.format(title="b", uuid=UUIDS[0]).replace(
        "ResultType: 50053", "userAgent|re: '(a)\\1'"))
    (verdict,) = load_folder(tmp_path).verdicts
    assert verdict.status == "unsupported" and verdict.file == "backref.yml"
    assert "invalid" in verdict.reason


def test_a_missing_folder_is_an_error_and_no_setting_loads_nothing(tmp_path: Path) -> None:
    with pytest.raises(SigmaFolderError, match="not a folder"):
        load_folder(tmp_path / "absent")
    with pytest.raises(SigmaFolderError):
        rules_from_setting(str(tmp_path / "absent"))
    assert rules_from_setting(None) == ()
    _write(tmp_path, "one.yml", RULE.format(title="one", uuid=UUIDS[0]))
    assert [r.id for r in rules_from_setting(str(tmp_path))] == [f"sigma:{UUIDS[0]}"]
