"""tools/check_infra.py fails on what checkov lets through: parse errors, reasonless skips."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import pytest

from tools import check_infra

ROOT = Path(__file__).resolve().parent.parent
CHECKOV = ROOT / ".venv-infra" / "bin" / "checkov"

SOUND = """\
resource sa 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  //checkov:skip=CKV_AZURE_35: test fixture, reason given
  //checkov:skip=CKV_AZURE_206: test fixture, reason given
  name: 'stsoundfixture'
  location: 'westeurope'
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}
"""

GRAPH_ALIAS = "extension microsoftGraphV1\nparam principalId string\n"


def make_infra(tmp_path: Path, files: dict[str, str]) -> Path:
    infra = tmp_path / "infra"
    for name, text in files.items():
        (infra / name).parent.mkdir(parents=True, exist_ok=True)
        (infra / name).write_text(text)
    return infra


def run(infra: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = check_infra.main(["--checkov", str(CHECKOV), "--infra", str(infra)])
    return code, capsys.readouterr().err


def needs_checkov(test):
    """checkov lives in .venv-infra (made by `make infra-check`): missing is a failure."""

    @functools.wraps(test)
    def run(*args, **kwargs):
        assert CHECKOV.exists(), "checkov is missing: run `make infra-check` first"
        return test(*args, **kwargs)

    return run


@needs_checkov
def test_sound_templates_pass_with_the_graph_module_left_to_pycep(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    infra = make_infra(tmp_path, {"main.bicep": SOUND, "graph/grants.bicep": GRAPH_ALIAS})
    assert run(infra, capsys) == (0, "")


@needs_checkov
def test_parse_errors_failed_and_unexplained_skips_all_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    weak = SOUND.replace("TLS1_2", "TLS1_0").replace(
        "//checkov:skip=CKV_AZURE_35: test fixture, reason given", "//checkov:skip=CKV_AZURE_35"
    )
    infra = make_infra(tmp_path, {
        "main.bicep": weak,
        # checkov's pycep 0.5.1 cannot parse this, and checkov alone would still exit 0
        "extension.bicep": GRAPH_ALIAS,
        # the quoted registry form defeats even pycep 0.7.1
        "graph/quoted.bicep": "extension 'br:mcr.microsoft.com/x:1.0.0'\nparam p string\n",
    })
    code, err = run(infra, capsys)
    assert code == 1
    assert "checkov could not parse" in err and "extension.bicep" in err
    assert "CKV_AZURE_44" in err  # TLS 1.0
    assert "skip of CKV_AZURE_35" in err and "has no reason" in err
    assert "quoted.bicep: pycep-parser" in err


def test_pycep_reports_each_broken_file_and_keeps_going(tmp_path: Path) -> None:
    infra = make_infra(tmp_path, {
        "a.bicep": "param x string = \n",
        "b.bicep": GRAPH_ALIAS,
        "c.bicep": "resource r 'A/b@1' = {\n",
    })
    problems = check_infra.pycep_problems(check_infra.bicep_files(infra))
    assert [Path(p.split(":")[0]).name for p in problems] == ["a.bicep", "c.bicep"]


def test_no_bicep_files_is_a_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "infra").mkdir()
    assert check_infra.main(["--checkov", sys.executable, "--infra", str(tmp_path / "infra")]) == 1
    assert "no .bicep files" in capsys.readouterr().err
