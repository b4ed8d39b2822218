"""The azd hooks: the Graph grant is its own, retried step, checked by running the script.

No Azure here: the POSIX hook runs against a stand-in ``az`` (a shell script on PATH that
fails a chosen number of times with a chosen message and logs its arguments) and a
stand-in ``sleep`` that only logs how long it was asked to wait.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tools.check_infra import parse_bicep, shellcheck_problems

ROOT = Path(__file__).resolve().parent.parent
HOOKS = ROOT / "infra" / "hooks"
POSIX = HOOKS / "postprovision.sh"
WINDOWS = HOOKS / "postprovision.ps1"
GRAPH_TEMPLATE = "infra/graph/graph-permissions.bicep"

FAKE_AZ = """#!/bin/sh
n=$(cat "$FAKE_DIR/count" 2>/dev/null || echo 0)
n=$((n + 1)); echo "$n" > "$FAKE_DIR/count"
printf '%s\\n' "$*" >> "$FAKE_DIR/az.log"
if [ "$n" -le "$FAKE_AZ_FAILURES" ]; then echo "ERROR: $FAKE_AZ_ERROR" >&2; exit 1; fi
exit 0
"""
FAKE_SLEEP = '#!/bin/sh\necho "$1" >> "$FAKE_DIR/sleep.log"\n'
AZD_ENV = {
    "AZURE_RESOURCE_GROUP": "rg-riskwatch-dev",
    "RISKWATCH_IDENTITY_PRINCIPAL_ID": "11111111-2222-3333-4444-555555555555",
    "RISKWATCH_GRAPH_GRANT": "true",
    "RISKWATCH_GRAPH_FEEDS": "riskDetections,signIns,directoryRoles",
    "RISKWATCH_GRAPH_REMEDIATION": "false",
}
REPLICATION = "Not a valid reference update. Graph client request id: 370e. (Code: BadRequest)"


@dataclass
class HookRun:
    code: int
    out: str
    err: str
    az_calls: list[str]
    sleeps: list[int]


def run_hook(tmp_path: Path, failures: int, error: str = REPLICATION, **env: str) -> HookRun:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in (("az", FAKE_AZ), ("sleep", FAKE_SLEEP)):
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    environ = {"PATH": f"{bin_dir}:/usr/bin:/bin", "FAKE_DIR": str(tmp_path),
               "FAKE_AZ_FAILURES": str(failures), "FAKE_AZ_ERROR": error, **AZD_ENV, **env}
    environ = {k: v for k, v in environ.items() if v != "<unset>"}
    proc = subprocess.run(["sh", str(POSIX)], cwd=ROOT, env=environ, capture_output=True,
                          text=True, timeout=30, check=False)
    log = tmp_path / "az.log"
    sleeps = tmp_path / "sleep.log"
    return HookRun(
        proc.returncode, proc.stdout, proc.stderr,
        log.read_text().splitlines() if log.exists() else [],
        [int(s) for s in sleeps.read_text().split()] if sleeps.exists() else [],
    )


def test_azure_yaml_runs_the_grant_after_provisioning_on_both_shells() -> None:
    text = (ROOT / "azure.yaml").read_text()
    block = text[text.index("  postprovision:"):text.index("  postdeploy:")]
    assert re.search(r"shell: sh\s+run: \./infra/hooks/postprovision\.sh", block)
    assert re.search(r"shell: pwsh\s+run: \./infra/hooks/postprovision\.ps1", block)
    assert block.count("continueOnError: false") == 2
    for script in (POSIX, WINDOWS):
        assert GRAPH_TEMPLATE in script.read_text(), script


def test_main_bicep_no_longer_grants_graph_roles_itself() -> None:
    """The identity and its Graph grant in one deployment is what fails on a first azd up."""
    main = parse_bicep(ROOT / "infra" / "main.bicep")
    assert not [m for m in main["modules"].values() if "graph/" in m["detail"]["path"]]
    outputs = main["outputs"]
    # Everything the hook reads is an output azd puts in its environment.
    used = set(re.findall(r"\$\{?(RISKWATCH_\w+|AZURE_RESOURCE_GROUP)", POSIX.read_text()))
    assert used <= set(outputs) | {"RISKWATCH_GRANT_GRAPH_PERMISSIONS"}  # the latter: a hint
    assert outputs["RISKWATCH_GRAPH_FEEDS"]["value"] == "feeds"
    assert outputs["RISKWATCH_GRAPH_GRANT"]["value"] == "grantGraphPermissions"
    assert outputs["RISKWATCH_GRAPH_REMEDIATION"]["value"] == "enableRemediation"


def test_a_replication_failure_is_retried_with_backoff_until_it_succeeds(tmp_path: Path) -> None:
    run = run_hook(tmp_path, failures=2)
    assert run.code == 0, run.err
    assert len(run.az_calls) == 3 and run.sleeps == [30, 60]
    assert "granted (attempt 3 of 5)" in run.out
    assert REPLICATION in run.err  # each failure is shown, not swallowed
    call = run.az_calls[-1]
    assert call.startswith("deployment group create --resource-group rg-riskwatch-dev")
    assert f"--template-file {GRAPH_TEMPLATE}" in call
    assert "principalId=11111111-2222-3333-4444-555555555555" in call
    assert "feeds=riskDetections,signIns,directoryRoles enableRemediation=false" in call


def test_the_retries_are_bounded(tmp_path: Path) -> None:
    run = run_hook(tmp_path, failures=100)
    assert run.code == 1
    assert len(run.az_calls) == 5 and run.sleeps == [30, 60, 120, 240]
    assert "failed 5 times; rerun 'azd hooks run postprovision'" in run.err


def test_a_deployer_who_may_not_grant_is_told_at_once(tmp_path: Path) -> None:
    run = run_hook(tmp_path, failures=100,
                   error="Authorization_RequestDenied: Insufficient privileges to complete.")
    assert run.code == 1 and len(run.az_calls) == 1 and run.sleeps == []
    assert "RISKWATCH_GRANT_GRAPH_PERMISSIONS false" in run.err
    assert f"-f {GRAPH_TEMPLATE}" in run.err and "principalId=11111111-" in run.err


def test_grant_off_prints_the_administrators_command_and_deploys_nothing(tmp_path: Path) -> None:
    run = run_hook(tmp_path, failures=0, RISKWATCH_GRAPH_GRANT="false")
    assert run.code == 0 and run.az_calls == []
    assert "Privileged Role Administrator" in run.out
    assert "feeds=riskDetections,signIns,directoryRoles" in run.out


def test_outside_azd_the_missing_outputs_are_named(tmp_path: Path) -> None:
    run = run_hook(tmp_path, failures=0, RISKWATCH_IDENTITY_PRINCIPAL_ID="<unset>")
    assert run.code != 0 and run.az_calls == []
    assert "RISKWATCH_IDENTITY_PRINCIPAL_ID is not set" in run.err


def test_the_windows_hook_has_the_same_bounds_and_stops() -> None:
    """No PowerShell here: the same constants, template and early stop, read from the text."""
    ps1, sh = WINDOWS.read_text(), POSIX.read_text()
    assert re.search(r"^\$MaxAttempts = 5\b", ps1, re.M)
    assert re.search(r"^MAX_ATTEMPTS=5\b", sh, re.M)
    assert re.search(r"^\$FirstDelay = 30\b", ps1, re.M)
    assert re.search(r"^FIRST_DELAY=30\b", sh, re.M)
    assert "$delay = $delay * 2" in ps1 and "delay=$((delay * 2))" in sh
    assert "for ($attempt = 1; $attempt -le $MaxAttempts; $attempt++)" in ps1
    assert "Authorization_RequestDenied|Insufficient privileges" in ps1
    for script in (ps1, sh):
        assert "--name riskwatch-graph-permissions" in script


@pytest.mark.skipif(shutil.which("shellcheck") is None and not os.environ.get("CI"),
                    reason="Debian package shellcheck absent (make test installs it)")
def test_shellcheck_passes_the_hooks_and_catches_a_bad_one(tmp_path: Path) -> None:
    assert shellcheck_problems(ROOT / "infra")[0] == []
    (tmp_path / "bad.sh").write_text('#!/bin/sh\nrm -rf $DIR/*\n[ $x == 1 ]\n')
    problems, status = shellcheck_problems(tmp_path)
    assert problems and all(p.startswith("shellcheck: ") for p in problems)
    assert "1 hook scripts" in status
    assert os.path.basename(str(tmp_path / "bad.sh")) in problems[0]
