"""The app settings Bicep sets and the settings the code reads are the same set.

The code's list comes from scanning service/**/*.py and function_app.py for setting-name
string literals (f-string parts included), not from importing settings.py, so a rename on
either side fails here. Settings built as ``f"{base}__accountName"`` count as read for
every base that is a storage setting (``*STORAGE``, ``AzureWebJobsStorage``).
"""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from service.settings.names import DEPLOYMENT_SETTINGS, TOOLING_SETTINGS
from tools.check_infra import parse_bicep

KNOWN_NOT_READ = set(DEPLOYMENT_SETTINGS) | set(TOOLING_SETTINGS)
ROOT = Path(__file__).resolve().parent.parent
FUNCTION_APP = ROOT / "infra" / "modules" / "functionapp.bicep"
MAIN = ROOT / "infra" / "main.bicep"
README = ROOT / "README.md"

SETTING = re.compile(r"\b(RISKWATCH_[A-Z0-9_]*[A-Z0-9]|AZURE_CLIENT_ID|AzureWebJobsStorage)\b")
SUFFIX = re.compile(r"__[a-z][A-Za-z]*")  # an f-string part like "__accountName"

# Read by the Functions host or the Azure SDKs, not by our code; Bicep must still set them.
PLATFORM = {
    "AzureWebJobsStorage__accountName": "Functions host storage",
    "AzureWebJobsStorage__credential": "Functions host storage",
    "AzureWebJobsStorage__clientId": "Functions host storage",
    "APPLICATIONINSIGHTS_CONNECTION_STRING": "Functions host telemetry",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "Functions host telemetry (Entra auth)",
}

# Read by the code but deliberately not set by Bicep; each is documented in README.md (Deployment).
NOT_SET_IN_BICEP = {
    "RISKWATCH_STORAGE": "connection-string alternative; Azure uses the identity form",
    "RISKWATCH_STORAGE__tableServiceUri": "optional; the account name is enough",
    "RISKWATCH_STORAGE__blobServiceUri": "optional; the account name is enough",
    "RISKWATCH_EXPORT_STORAGE": "connection-string alternative of the export account",
    "RISKWATCH_EXPORT_STORAGE__credential": "identity form needs only accountName + clientId",
    "RISKWATCH_EXPORT_STORAGE__tableServiceUri": "optional; the account name is enough",
    "RISKWATCH_EXPORT_STORAGE__blobServiceUri": "optional; the account name is enough",
    "AzureWebJobsStorage": "host connection string; Azure uses the identity form",
    "AzureWebJobsStorage__tableServiceUri": "optional; the account name is enough",
    "AzureWebJobsStorage__blobServiceUri": "optional; the account name is enough",
    "RISKWATCH_DELIVERY_RETRY_HOURS": "optional; the default (24 h) is what a deployment wants",
    "RISKWATCH_NOTIFY": "optional; the default (incidents) is what a deployment wants",
    "RISKWATCH_INCIDENT_QUIET_DAYS": "optional; the default (7 days) is what a deployment wants",
    "RISKWATCH_REVIEW_AT": "optional; the default (Mon 07:00, business time zone) suits most",
    "RISKWATCH_EVENTHUB": "Event Hubs connection-string alternative; Azure uses the identity form",
    "RISKWATCH_SIGMA_RULES": "optional; unset until a tenant ships a Sigma rules folder",
    "RISKWATCH_RESPONSE_MODE": "optional; off by default: an operator turns plan, then enforce, on",
    "RISKWATCH_RESPONSE_EXCLUDE": "optional; the tenant's own break-glass accounts",
    "RISKWATCH_EVIDENCE_MIN_VERDICT": "optional; the default (medium) is what a deployment wants",
    "RISKWATCH_EVIDENCE_CONTAINER": "optional; the default (evidence) is the container Bicep makes",
}


PLACEHOLDERS = {
    "storageAccountName": "stplaceholder",
    "exportStorageAccountName": "stexportplaceholder",
    "identityClientId": "00000000-0000-0000-0000-000000000000",
    "eventHubNamespace": "evhns-placeholder.servicebus.windows.net",
}


def _code_files() -> list[Path]:
    files = sorted((ROOT / "service").rglob("*.py"))
    if (ROOT / "function_app.py").exists():
        files.append(ROOT / "function_app.py")
    return files


def code_settings() -> set[str]:
    """Setting names the code reads, from string literals."""
    names: set[str] = set()
    suffixes: set[str] = set()
    for path in _code_files():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                names.update(SETTING.findall(node.value))
                # A whole identity-form name ("RISKWATCH_EVENTHUB__clientId"), too.
                names.update(m.group(0) for m in re.finditer(r"\b\w+__[A-Za-z]+\b", node.value)
                             if m.group(0).startswith(("RISKWATCH_", "AzureWebJobsStorage")))
                if SUFFIX.fullmatch(node.value):
                    suffixes.add(node.value)
    bases = {n for n in names if n.endswith("STORAGE") or n == "AzureWebJobsStorage"}
    # service/settings/names.py lists the names azd and the tooling use so that they are not
    # taken for misspellings; the app knows them but does not read them.
    return (names | {base + suffix for base in bases for suffix in suffixes}) - KNOWN_NOT_READ


def _settings_vars(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: var["value"]
        for name, var in doc["variables"].items()
        if name.endswith("Settings") and isinstance(var["value"], dict)
        and "function" not in var["value"]
    }


def bicep_settings() -> set[str]:
    return {key for group in _settings_vars(parse_bicep(FUNCTION_APP)).values() for key in group}


@pytest.fixture(scope="module")
def code_names() -> set[str]:
    return code_settings()


def test_bicep_sets_only_settings_that_are_read(code_names: set[str]) -> None:
    unread = bicep_settings() - code_names - set(PLATFORM)
    assert not unread, f"Bicep sets settings nobody reads: {sorted(unread)}"


def test_every_setting_the_code_reads_is_set_or_documented(code_names: set[str]) -> None:
    missing = code_names - bicep_settings() - set(NOT_SET_IN_BICEP)
    assert not missing, f"code reads settings Bicep does not set: {sorted(missing)}"
    readme = README.read_text()
    undocumented = [name for name in NOT_SET_IN_BICEP if f"`{name}`" not in readme]
    assert not undocumented, f"not in README.md: {undocumented}"


def test_platform_settings_are_set() -> None:
    assert set(PLATFORM) <= bicep_settings()


def test_every_settings_group_reaches_the_app() -> None:
    doc = parse_bicep(FUNCTION_APP)
    union_args = doc["variables"]["allSettings"]["value"]["function"]["parameters"]
    text = repr(union_args)
    for group in _settings_vars(doc):
        assert f"'{group}'" in text, f"{group} is never applied to the app"


def _resolve(value: Any, app_params: dict[str, Any], main: dict[str, Any]) -> Any:
    """Evaluate the few Bicep forms the settings use, with main.bicep's defaults."""
    if isinstance(value, dict) and value.get("function", {}).get("type") == "string":
        return str(_resolve(value["function"]["parameters"]["value_to_convert"], app_params, main))
    if isinstance(value, str) and value in app_params:
        passed = main["modules"]["functionApp"]["config"]["params"].get(value)
        if isinstance(passed, str) and passed in main["parameters"]:
            return main["parameters"][passed]["default"]
        # A module output only known in Azure: a value of the right shape (account names
        # and client ids are checked by the settings).
        return PLACEHOLDERS.get(value, f"placeholder-{value}")
    return value


def bicep_default_env() -> dict[str, str]:
    """The app settings of a default deployment, Key Vault references as Azure resolves them."""
    doc, main = parse_bicep(FUNCTION_APP), parse_bicep(MAIN)
    env = {}
    for group in _settings_vars(doc).values():
        for key, value in group.items():
            resolved = str(_resolve(value, doc["parameters"], main))
            if resolved.startswith("@Microsoft.KeyVault("):
                resolved = "https://alerts.example.com/hook"
            env[key] = resolved
    return env


def test_bicep_defaults_are_the_code_defaults(code_names: set[str]) -> None:
    from service.settings import load_settings

    env = bicep_default_env()
    assert env["RISKWATCH_FEEDS"] == (
        "riskDetections,riskyUsers,signIns,directoryAudits,directoryRoles")
    deployed = load_settings(env)
    minimal = load_settings({"RISKWATCH_STORAGE__accountName": "placeholder"})
    # Everything not about where things are (storage, sinks, identity) must be the default.
    skip = {"storage", "export_storage", "sinks", "azure_client_id", "eventhub"}
    for field in dataclasses.fields(deployed):
        if field.name in skip:
            continue
        assert getattr(deployed, field.name) == getattr(minimal, field.name), field.name
    assert {sink.name for sink in deployed.sinks} == {"webhook", "teams", "slack"}
    assert deployed.export_storage is not None
    assert deployed.eventhub is not None and deployed.eventhub.client_id is not None
