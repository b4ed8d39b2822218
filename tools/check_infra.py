"""Offline checks of infra/: checkov on the templates, pycep-parser on every .bicep file.

No Azure account and no Bicep CLI are needed. Two tools, kept in separate virtualenvs
because checkov pins pycep-parser 0.5.1 while the structural checks need >= 0.7.1:

- checkov (``--checkov``, from .venv-infra) runs with ``--framework bicep`` on infra/,
  leaving out infra/graph/ (0.5.1 cannot parse ``extension`` statements). checkov exits 0
  when a file fails to parse, so its JSON summary is read instead: any parsing error,
  failed check, or inline skip without a reason fails this script.
- pycep-parser >= 0.7.1 (imported here, from the interpreter running this script) parses
  EVERY .bicep file, the Graph module included.
- Every path azure.yaml and the files under infra/ name (modules, hook scripts, templates,
  docs such as infra/README-deploy.md) must exist.
- shellcheck, when installed (Debian package ``shellcheck``), checks the azd hook scripts.

Usage: python tools/check_infra.py --checkov .venv-infra/bin/checkov [--infra infra]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

# Folders checkov's pycep-parser 0.5.1 cannot parse (Graph extension); pycep 0.7.1 covers them.
CHECKOV_EXCLUDED = ("graph",)
MIN_PYCEP = (0, 7, 1)

# A repository path named in text: infra/..., ./infra/..., tools/... (globs allowed).
REPO_PATH = re.compile(
    r"(?<![\w/.<-])(?:\./)?((?:infra|tools|tests|service|detections)/[\w./*-]*[\w*])"
)
# A Bicep module reference, relative to the file that makes it.
MODULE_PATH = re.compile(r"^\s*module\s+\w+\s+'([^']+\.bicep)'", re.M)
REFERRING = ("*.bicep", "*.sh", "*.ps1", "*.json", "*.md")


def parse_bicep(path: Path) -> dict[str, Any]:
    """pycep-parser's JSON structure of one file (also used by tests/test_infra_*.py)."""
    from pycep import BicepParser

    return dict(BicepParser().parse(file_path=path))


def bicep_files(infra: Path) -> list[Path]:
    return sorted(infra.rglob("*.bicep"))


def run_checkov(checkov: str, infra: Path) -> dict[str, Any]:
    """Run checkov and return its single bicep report (dict with summary and results)."""
    cmd = [checkov, "--framework", "bicep", "--skip-download", "-o", "json"]
    cmd += ["-d", str(infra)]
    for folder in CHECKOV_EXCLUDED:
        cmd += ["--skip-path", f"{infra.name}/{folder}/"]
    # checkov exits 1 on failed checks and 0 on parse errors; the JSON decides, not the code.
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        msg = f"checkov produced no JSON report (exit {proc.returncode}): {proc.stderr[-2000:]}"
        raise SystemExit(msg) from exc
    if isinstance(report, list):  # several frameworks: keep the bicep one
        report = next((r for r in report if r.get("check_type") == "bicep"), {})
    if "summary" not in report:
        raise SystemExit(f"checkov report has no summary (nothing scanned?): {report!r:.500}")
    return dict(report)


def checkov_problems(report: dict[str, Any]) -> list[str]:
    """Everything in a checkov report that must fail the build."""
    summary = report["summary"]
    results = report.get("results", {})
    problems = [f"checkov could not parse {path}" for path in results.get("parsing_errors", [])]
    if summary.get("parsing_errors", 0) and not problems:
        problems.append(f"checkov reports {summary['parsing_errors']} parsing error(s)")
    for check in results.get("failed_checks", []):
        problems.append(
            f"{check['file_path']}:{check['file_line_range'][0]}: {check['check_id']} "
            f"{check['check_name']} ({check['resource']})"
        )
    for check in results.get("skipped_checks", []):
        reason = (check.get("check_result") or {}).get("suppress_comment", "").strip()
        if not reason or reason == "No comment provided":
            problems.append(
                f"{check['file_path']}: skip of {check['check_id']} on {check['resource']} "
                "has no reason; write `#checkov:skip=CKV_...: why`"
            )
    if summary.get("resource_count", 0) == 0:
        problems.append("checkov found no resources: is the infra path right?")
    return problems


def pycep_problems(files: list[Path]) -> list[str]:
    """Parse every file with pycep-parser >= 0.7.1; one broken file never hides the others."""
    installed = tuple(int(part) for part in version("pycep-parser").split(".")[:3])
    if installed < MIN_PYCEP:
        return [f"pycep-parser {installed} is too old; need >= 0.7.1 (extension statements)"]
    from pycep import BicepParser  # imported late: the version check above explains failures

    parser = BicepParser()
    problems: list[str] = []
    for path in files:
        try:
            parser.parse(file_path=path)
        except Exception as exc:  # noqa: BLE001 - any parser failure is reported per file
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            problems.append(f"{path}: pycep-parser: {type(exc).__name__}: {first_line}")
    return problems


def referring_files(infra: Path) -> list[Path]:
    """azure.yaml beside infra/ (when there is one) and every text file under infra/."""
    azure_yaml = infra.parent / "azure.yaml"
    found = {path for pattern in REFERRING for path in infra.rglob(pattern)}
    return ([azure_yaml] if azure_yaml.is_file() else []) + sorted(found)


def missing_references(infra: Path) -> list[str]:
    """Each path a file names that does not exist, as ``file:line: path``."""
    root = infra.resolve().parent
    problems: list[str] = []
    for path in referring_files(infra):
        text = path.read_text(encoding="utf-8")
        refs = [(m.start(), root, m.group(1)) for m in REPO_PATH.finditer(text)]
        here = path.resolve().parent
        refs += [(m.start(1), here, m.group(1)) for m in MODULE_PATH.finditer(text)]
        if path.name == "azure.yaml":  # infra.path + infra.module: the template azd deploys
            module = re.search(r"^\s+module:\s*(\S+)", text, re.M)
            folder = re.search(r"^\s+path:\s*(\S+)", text, re.M)
            if module and folder:
                template = f"{folder.group(1)}/{module.group(1)}"
                for suffix in (".bicep", ".parameters.json"):
                    refs.append((module.start(1), root, template + suffix))
        for offset, base, ref in refs:
            exists = any(base.glob(ref)) if "*" in ref else (base / ref).exists()
            if not exists:
                line = text.count("\n", 0, offset) + 1
                problems.append(f"{path}:{line}: names {ref}, which does not exist")
    return problems


def shellcheck_problems(infra: Path) -> tuple[list[str], str]:
    """shellcheck on the POSIX hook scripts: (problems, status for the summary line)."""
    scripts = sorted(infra.rglob("*.sh"))
    shellcheck = shutil.which("shellcheck")
    if not scripts:
        return [], "no shell scripts"
    if shellcheck is None:
        return [], "shellcheck not installed (apt-get install shellcheck), hooks not linted"
    proc = subprocess.run(  # noqa: S603 - our own scripts, a fixed tool
        [shellcheck, "-s", "sh", "-f", "gcc", *map(str, scripts)],
        capture_output=True, text=True, check=False,
    )
    problems = [f"shellcheck: {line}" for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode and not problems:
        problems.append(f"shellcheck exited {proc.returncode}: {proc.stderr.strip()[:500]}")
    return problems, f"shellcheck: {len(scripts)} hook scripts"


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--checkov", required=True, help="checkov executable (.venv-infra)")
    args.add_argument("--infra", default="infra", type=Path, help="templates folder")
    opts = args.parse_args(argv)
    infra: Path = opts.infra
    files = bicep_files(infra)
    if not files:
        print(f"check_infra: no .bicep files under {infra}", file=sys.stderr)
        return 1
    report = run_checkov(opts.checkov, infra)
    shell_problems, shell_status = shellcheck_problems(infra)
    missing = missing_references(infra)
    problems = checkov_problems(report) + pycep_problems(files) + missing + shell_problems
    summary = report["summary"]
    print(
        f"check_infra: checkov {summary.get('checkov_version', '?')}: "
        f"{summary['passed']} passed, {summary['failed']} failed, "
        f"{summary['skipped']} skipped with reasons, {summary['parsing_errors']} parsing errors; "
        f"pycep-parser {version('pycep-parser')}: {len(files)} .bicep files parsed; "
        f"{len(referring_files(infra))} files' path references checked, {len(missing)} missing; "
        f"{shell_status}"
    )
    for problem in problems:
        print(f"check_infra: FAIL {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
