"""The Graph app roles Bicep grants are exactly those the enabled feeds need."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from service.ingest.graph.feeds import DEFAULT_FEEDS, FEED_PERMISSIONS, required_permissions
from tools.check_infra import parse_bicep

ROOT = Path(__file__).resolve().parent.parent
GRAPH = ROOT / "infra" / "graph" / "graph-permissions.bicep"
MAIN = ROOT / "infra" / "main.bicep"


@pytest.fixture(scope="module")
def graph() -> dict[str, Any]:
    return parse_bicep(GRAPH)


@pytest.fixture(scope="module")
def main() -> dict[str, Any]:
    return parse_bicep(MAIN)


def action_table(graph: dict[str, Any]) -> dict[str, list[str]]:
    table = graph["variables"]["actionPermissions"]["value"]
    return {key.strip("'"): value for key, value in table.items()}


def granted(graph: dict[str, Any], feeds: str, remediation: bool,
            actions: str | None = None) -> set[str]:
    """What graph-permissions.bicep grants, following its own variables."""
    table = graph["variables"]["feedPermissions"]["value"]
    read = {table[name.strip()] for name in feeds.split(",")}
    chosen = actions or graph["parameters"]["remediationActions"]["default"]
    by_action = action_table(graph)
    write = [p for a in chosen.split(",") for p in by_action[a.strip()]] if remediation else []
    return read | set(write)


def test_feed_table_is_the_code_table(graph: dict[str, Any]) -> None:
    assert graph["variables"]["feedPermissions"]["value"] == FEED_PERMISSIONS


def test_default_deployment_grants_exactly_the_default_feeds_needs(
    graph: dict[str, Any], main: dict[str, Any]
) -> None:
    feeds = main["parameters"]["feeds"]["default"]
    assert tuple(feeds.split(",")) == DEFAULT_FEEDS
    assert main["parameters"]["enableRemediation"]["default"] is False
    expected = required_permissions(DEFAULT_FEEDS)
    assert granted(graph, feeds, remediation=False) == expected
    assert expected == {
        "IdentityRiskEvent.Read.All",
        "IdentityRiskyUser.Read.All",
        "AuditLog.Read.All",
        "RoleManagement.Read.Directory",  # least privileged for roleAssignments
    }


@pytest.mark.parametrize("feed", sorted(FEED_PERMISSIONS))
def test_each_feed_alone_grants_only_its_permission(graph: dict[str, Any], feed: str) -> None:
    assert granted(graph, feed, remediation=False) == required_permissions((feed,))


def test_write_permissions_only_behind_an_off_by_default_parameter(
    graph: dict[str, Any],
) -> None:
    assert graph["parameters"]["enableRemediation"]["default"] is False
    write = {p for perms in action_table(graph).values() for p in perms}
    assert write and all("ReadWrite" in p or ".Revoke" in p or "EnableDisable" in p
                         or p == "User.Read.All" for p in write)
    assert "User.ReadWrite.All" not in write and not any(p.startswith("Directory.") for p in write)
    lists = repr(graph["variables"]["remediationLists"]["value"])
    assert "'remediationActions'" in lists and "'actionPermissions'" in lists
    reads = graph["variables"]["feedPermissions"]["value"].values()
    assert all(".Read." in p and "Write" not in p for p in reads)
    assert "Directory.Read.All" not in reads  # reads every user, group and device
    union = repr(graph["variables"]["permissions"]["value"])
    assert "'condition': 'enableRemediation'" in union


def test_app_and_graph_grant_get_the_same_feeds(main: dict[str, Any]) -> None:
    """The postprovision hook grants for RISKWATCH_GRAPH_FEEDS, the output of the app's feeds."""
    app = main["modules"]["functionApp"]["config"]["params"]
    assert app["feeds"] == main["outputs"]["RISKWATCH_GRAPH_FEEDS"]["value"] == "feeds"
    assert main["outputs"]["RISKWATCH_GRAPH_REMEDIATION"]["value"] == "enableRemediation"


def test_graph_module_uses_the_alias_form(graph: dict[str, Any]) -> None:
    import json

    text = GRAPH.read_text()
    assert "\nextension microsoftGraphV1\n" in text
    assert "extension 'br:" not in text  # pycep-parser 0.7.1 cannot parse the quoted form
    config = json.loads((ROOT / "infra" / "bicepconfig.json").read_text())
    assert config["extensions"]["microsoftGraphV1"].startswith(
        "br:mcr.microsoft.com/bicep/extensions/microsoftgraph/v1.0:"
    )
    resources = graph["resources"]
    assert resources["grants"]["type"] == "Microsoft.Graph/appRoleAssignedTo"


def test_each_action_grants_exactly_the_permissions_the_code_calls_with(
    graph: dict[str, Any],
) -> None:
    from service.response.graph_actions import ACTION_PERMISSIONS

    assert {a: tuple(p) for a, p in action_table(graph).items()} == ACTION_PERMISSIONS
    default = graph["parameters"]["remediationActions"]["default"]
    assert default == "revoke,confirm-compromised,dismiss"  # the policy's own actions
    assert granted(graph, "signIns", True) - granted(graph, "signIns", False) == {
        "User.RevokeSessions.All", "IdentityRiskyUser.ReadWrite.All"}
    assert granted(graph, "signIns", True, "disable") - granted(graph, "signIns", False) == {
        "User.EnableDisableAccount.All", "User.Read.All"}
    assert granted(graph, "signIns", False, "revoke,disable") == {"AuditLog.Read.All"}
