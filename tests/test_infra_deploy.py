"""What a deployment gets from its inputs: azd's parameters, the sinks list, the docs it names."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bicep_eval import DeploymentRefused, Template, azd_parameters
from tools.check_infra import missing_references, parse_bicep

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT / "infra"
MAIN = INFRA / "main.bicep"
RUNBOOK = INFRA / "README-deploy.md"
SINK_URLS = {"webhook": "RISKWATCH_WEBHOOK_URL", "teams": "RISKWATCH_TEAMS_WEBHOOK_URL",
             "slack": "RISKWATCH_SLACK_WEBHOOK_URL"}


def main_template(env: dict[str, str] | None = None) -> Template:
    """main.bicep bound as `azd up` binds it, from main.parameters.json and the azd env."""
    base = {"AZURE_ENV_NAME": "dev", "AZURE_LOCATION": "westeurope", "AZURE_PRINCIPAL_ID": "p-1"}
    return Template(MAIN, azd_parameters(INFRA / "main.parameters.json", {**base, **(env or {})}))


def app_settings(alert_sinks: str) -> dict[str, str]:
    """The function app's settings for RISKWATCH_ALERT_SINKS, through main.bicep's module call."""
    main = main_template({"RISKWATCH_ALERT_SINKS": alert_sinks})
    app = Template(INFRA / "modules" / "functionapp.bicep", main.module_params("functionApp"))
    return dict(app.variable("allSettings"))


def test_every_path_the_infra_and_azure_yaml_name_exists() -> None:
    assert missing_references(INFRA) == []
    for naming in (ROOT / "azure.yaml", MAIN, INFRA / "tenant" / "entra-diagnostic-settings.bicep"):
        assert "infra/README-deploy.md" in naming.read_text(), naming
    assert RUNBOOK.is_file()


def test_a_missing_reference_is_named_with_file_and_line(tmp_path: Path) -> None:
    infra = tmp_path / "infra"
    (infra / "modules").mkdir(parents=True)
    (infra / "modules" / "a.bicep").write_text("param p string\n")
    (infra / "main.bicep").write_text(
        "// see infra/README-deploy.md\nmodule a 'modules/a.bicep' = {\n}\n"
        "module b 'modules/b.bicep' = {\n}\n"
    )
    (tmp_path / "azure.yaml").write_text(
        "infra:\n  path: infra\n  module: main\nhooks:\n  postprovision:\n"
        "    run: ./infra/hooks/missing.sh\n"
    )
    problems = missing_references(infra)
    assert sorted(p.split(str(tmp_path))[-1] for p in problems) == [
        "/azure.yaml:3: names infra/main.parameters.json, which does not exist",
        "/azure.yaml:6: names infra/hooks/missing.sh, which does not exist",
        "/infra/main.bicep:1: names infra/README-deploy.md, which does not exist",
        "/infra/main.bicep:4: names modules/b.bicep, which does not exist",
    ]


def test_the_runbook_covers_every_step() -> None:
    text = RUNBOOK.read_text()
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    for topic in ("Prerequisites", "one command", "Graph app-role grant", "After deployment",
                  "Verifying the first run", "Rolling back"):
        assert any(topic in heading for heading in headings), topic
    for command in ("azd up", "azd hooks run postprovision", "az deployment group create",
                    "az deployment tenant create", "azd down", "AZURE_PRINCIPAL_TYPE"):
        assert command in text, command
    assert "RoleManagement.Read.Directory" in text and "msgraph-bicep-types#193" in text


def test_location_carries_azd_location_metadata() -> None:
    """azd prompts with its region picker only for a parameter marked as a location."""
    decorators = parse_bicep(MAIN)["parameters"]["location"]["decorators"]
    assert {"type": "metadata", "argument": {"azd": {"type": "location"}}} in decorators


@pytest.mark.parametrize(("env", "expected"), [
    ({"AZURE_PRINCIPAL_TYPE": "ServicePrincipal"}, "ServicePrincipal"),  # a CI pipeline
    ({}, "User"),  # an operator's azd login
])
def test_the_secrets_officer_has_the_deployers_principal_type(
    env: dict[str, str], expected: str
) -> None:
    main = main_template(env)
    vault = Template(INFRA / "modules" / "keyvault.bicep", main.module_params("keyVault"))
    officer = vault.doc["resources"]["secretsOfficer"]["config"]["config"]["properties"]
    assert vault.eval(officer["principalType"]) == expected
    assert vault.eval(officer["principalId"]) == "p-1"


@pytest.mark.parametrize(("alert_sinks", "expected"), [
    ("webhook, teams", {"webhook", "teams"}),  # dropped Teams before: ' teams' != 'teams'
    (" Teams ,SLACK", {"teams", "slack"}),
    ("webhook,teams,", {"webhook", "teams"}),
    ("slack", {"slack"}),
    ("", set()),
])
def test_sink_names_are_trimmed_and_case_blind(alert_sinks: str, expected: set[str]) -> None:
    settings = app_settings(alert_sinks)
    assert {sink for sink, url in SINK_URLS.items() if url in settings} == expected


@pytest.mark.parametrize("alert_sinks", ["webhook, temas", "email", "teams;slack"])
def test_an_unknown_sink_name_fails_the_deployment(alert_sinks: str) -> None:
    with pytest.raises(DeploymentRefused, match=r"functionapp.bicep: parameter 'alertSinks'"):
        app_settings(alert_sinks)
