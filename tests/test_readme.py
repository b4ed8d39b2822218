"""The README is true: its rule table is the registry's, its commands exist."""

from __future__ import annotations

from pathlib import Path

from tools.rules_doc import README, render

ROOT = Path(__file__).resolve().parent.parent


def test_the_rule_table_matches_the_registry() -> None:
    text = README.read_text(encoding="utf-8")
    assert render(text) == text, (
        "README.md's rule table is not the registry's: run `.venv/bin/python tools/rules_doc.py` "
        "(it rewrites the table between the rules markers) and commit README.md"
    )


def test_the_first_two_commands_are_demo_and_test() -> None:
    text = README.read_text(encoding="utf-8")
    commands = [line.split()[1] for line in text.splitlines() if line.startswith("make ")]
    assert commands[:2] == ["demo", "test"]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for target in ("demo:", "test:", "bench:"):
        assert f"\n{target}" in makefile


def test_every_documented_setting_is_read_by_the_code() -> None:
    text = README.read_text(encoding="utf-8")
    settings_section = text.split("## Settings", 1)[1].split("## Operations", 1)[0]
    code = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "service").rglob("*.py"))
    # Identity-based forms are composed in code: `RISKWATCH_STORAGE` + "__accountName".
    documented = {
        word.strip("`,").split("__")[0]
        for line in settings_section.splitlines() if line.startswith("| `")
        for word in line.split("|")[1].split()
        if word.startswith("`RISKWATCH_") and "<" not in word
    }
    assert len(documented) >= 15
    missing = sorted(name for name in documented if name not in code)
    assert missing == []


def test_the_local_settings_example_lists_every_setting_and_loads() -> None:
    import json

    from service.settings import load_settings

    example = json.loads((ROOT / "local.settings.json.example").read_text(encoding="utf-8"))
    values = {k: v for k, v in example["Values"].items() if v != ""}
    text = README.read_text(encoding="utf-8").split("## Settings", 1)[1].split("## Operations")[0]
    for line in text.splitlines():
        if line.startswith("| `RISKWATCH_") and "<" not in line.split("|")[1]:
            for word in line.split("|")[1].split():
                name = word.strip("`,")
                if name.startswith("RISKWATCH_") and name.count("_") > 1 and "(" not in name:
                    assert name in example["Values"], name
    # With a storage connection it is a valid configuration as it stands.
    values["RISKWATCH_STORAGE"] = "UseDevelopmentStorage=true;AccountName=devstoreaccount1"
    assert load_settings(values).feeds == ("riskDetections", "riskyUsers", "signIns",
                                           "directoryAudits", "directoryRoles")
