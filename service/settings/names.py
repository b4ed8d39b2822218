"""Every RISKWATCH_* name the app, azd and the tooling use, to catch a misspelt setting.

A misspelt threshold name would otherwise be ignored and the default kept without a
word. Only ``RISKWATCH_``-prefixed names are checked: the
environment holds many others. tests/test_settings_names.py keeps these lists in sync with
the names service/, function_app.py, infra/ and azure.yaml actually use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from detections.registry import nearest_name
from detections.rule import Rule

PREFIX = "RISKWATCH_"
STORAGE_BASES = ("RISKWATCH_STORAGE", "RISKWATCH_EXPORT_STORAGE")
# The identity-based forms of a storage setting, as the Functions host spells them.
STORAGE_SUFFIXES = ("__accountName", "__credential", "__clientId", "__tableServiceUri",
                    "__blobServiceUri")

# Read by service/settings/__init__.py (besides the storage settings and the rule thresholds).
APP_SETTINGS = (
    "RISKWATCH_TABLE_PREFIX",
    "RISKWATCH_WEBHOOK_URL",
    "RISKWATCH_WEBHOOK_SECRET",
    "RISKWATCH_WEBHOOK_MIN_SEVERITY",
    "RISKWATCH_TEAMS_WEBHOOK_URL",
    "RISKWATCH_TEAMS_MIN_SEVERITY",
    "RISKWATCH_SLACK_WEBHOOK_URL",
    "RISKWATCH_SLACK_MIN_SEVERITY",
    "RISKWATCH_MAX_ALERTS_PER_RUN",
    "RISKWATCH_SCHEDULE",
    "RISKWATCH_GRAPH_BASE_URL",
    "RISKWATCH_GRAPH_AUTH",
    "RISKWATCH_FEEDS",
    "RISKWATCH_LOOKBACK_HOURS",
    "RISKWATCH_RUN_BUDGET_SECONDS",
    "RISKWATCH_DELIVERY_RETRY_HOURS",
    "RISKWATCH_DISABLED_RULES",
    "RISKWATCH_BUSINESS_TIMEZONE",
    "RISKWATCH_BUSINESS_HOURS",
    "RISKWATCH_BUSINESS_DAYS",
    "RISKWATCH_PORTAL_URL",
    "RISKWATCH_NOTIFY",
    "RISKWATCH_INCIDENT_QUIET_DAYS",
    "RISKWATCH_REVIEW_AT",
    "RISKWATCH_SIGMA_RULES",  # a folder of Sigma rules (service/sigma)
    "RISKWATCH_RESPONSE_MODE",
    "RISKWATCH_RESPONSE_EXCLUDE",
    "RISKWATCH_EVIDENCE_MIN_VERDICT",
    "RISKWATCH_EVIDENCE_CONTAINER",
    # The optional Event Hubs path (service/settings/eventhub.py; the host reads them too).
    "RISKWATCH_EVENTHUB",
    "RISKWATCH_EVENTHUB__fullyQualifiedNamespace",
    "RISKWATCH_EVENTHUB__credential",
    "RISKWATCH_EVENTHUB__clientId",
    "RISKWATCH_EVENTHUB_NAME",
    "RISKWATCH_EVENTHUB_CONSUMER_GROUP",
)

# Set for azd (infra/main.parameters.json) or by it from the Bicep outputs (infra/main.bicep,
# read by infra/hooks): present in a developer's shell after `azd env get-values`.
DEPLOYMENT_SETTINGS = (
    "RISKWATCH_ALERT_SINKS",
    "RISKWATCH_ENABLE_EXPORT",
    "RISKWATCH_ENABLE_REMEDIATION",
    "RISKWATCH_GRANT_GRAPH_PERMISSIONS",
    "RISKWATCH_IDENTITY_CLIENT_ID",
    "RISKWATCH_IDENTITY_PRINCIPAL_ID",
    "RISKWATCH_EXPORT_ENABLED",
    "RISKWATCH_EXPORT_STORAGE_ACCOUNT_ID",
    "RISKWATCH_EXPORT_SYSTEM_TOPIC_NAME",
    "RISKWATCH_EXPORT_DEADLETTER_CONTAINER",
    "RISKWATCH_GRAPH_GRANT",  # the Graph app-role grant step (infra/hooks/postprovision.*)
    "RISKWATCH_GRAPH_FEEDS",
    "RISKWATCH_GRAPH_REMEDIATION",
    "RISKWATCH_ENABLE_EVENTHUBS",  # the Event Hubs path (infra/modules/eventhubs.bicep)
    "RISKWATCH_EVENTHUBS_ENABLED",
    "RISKWATCH_EVENTHUB_SEND_RULE_ID",  # for infra/tenant/entra-eventhubs-diagnostic-settings
)

# Set by tools/azurite.py for `make test`, `make demo` and `make bench`.
TOOLING_SETTINGS = ("RISKWATCH_STORAGE_CONNECTION",)


def storage_settings() -> tuple[str, ...]:
    return tuple(base + suffix for base in STORAGE_BASES for suffix in ("", *STORAGE_SUFFIXES))


def threshold_settings(rules: Iterable[Rule]) -> tuple[str, ...]:
    return tuple(threshold_name(rule, param.name) for rule in rules for param in rule.params)


def threshold_name(rule: Rule, param_name: str) -> str:
    param = next((p for p in rule.params if p.name == param_name), None)
    return param.setting_name(rule.id) if param else f"RISKWATCH_{rule.id}_{param_name}".upper()


def known_settings(rules: Sequence[Rule]) -> frozenset[str]:
    return frozenset((*APP_SETTINGS, *storage_settings(), *threshold_settings(rules),
                      *DEPLOYMENT_SETTINGS, *TOOLING_SETTINGS))


def unknown_setting_problems(env: Mapping[str, str], rules: Sequence[Rule]) -> list[str]:
    """One line per RISKWATCH_* name nobody reads, with the nearest known name."""
    known = known_settings(rules)
    by_upper = {name.upper(): name for name in known}
    problems = []
    for name in sorted(env):
        if not name.upper().startswith(PREFIX) or name in known:
            continue
        shown = name[:80].encode("ascii", "backslashreplace").decode("ascii")
        if name.upper() in by_upper:
            hint = f", did you mean {by_upper[name.upper()]}? (names are case-sensitive)"
        else:
            nearest = nearest_name(name.upper(), by_upper)
            hint = f", did you mean {by_upper[nearest]}?" if nearest else " (README.md: Settings)"
        problems.append(f"{shown}: unknown setting{hint}")
    return problems
