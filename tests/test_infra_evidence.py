"""The evidence container's WORM policy, checked offline in the Bicep (Azurite has none)."""

from __future__ import annotations

from pathlib import Path

from service.settings.evidence import EvidenceSettings
from tools.check_infra import parse_bicep

ROOT = Path(__file__).resolve().parent.parent
STORAGE = ROOT / "infra" / "modules" / "storage.bicep"
MAIN = ROOT / "infra" / "main.bicep"


def config(doc: dict, name: str) -> dict:
    found = doc["resources"][name]["config"]
    return dict(found.get("config", found))


def test_the_evidence_container_has_version_level_worm_with_an_unlocked_retention() -> None:
    doc = parse_bicep(STORAGE)
    assert doc["parameters"]["evidenceContainerName"]["default"] == EvidenceSettings().container
    container = config(doc, "evidenceContainer")
    assert container["parent"] == "blobService" and container["name"] == "evidenceContainerName"
    assert container["properties"]["publicAccess"] == "None"
    assert container["properties"]["immutableStorageWithVersioning"] == {"enabled": True}
    # Version-level immutability needs versioning on the account's blob service.
    assert config(doc, "blobService")["properties"]["isVersioningEnabled"] is True
    policy = config(doc, "evidenceRetention")
    assert (policy["parent"], policy["name"]) == ("evidenceContainer", "default")
    props = policy["properties"]
    assert props["immutabilityPeriodSinceCreationInDays"] == "evidenceRetentionDays"
    assert props["allowProtectedAppendWrites"] is False
    assert props["allowProtectedAppendWritesAll"] is False
    # Unlocked: no lock resource or state anywhere in the templates (the tenant locks it).
    text = STORAGE.read_text()
    assert "Locked" not in text and "/lock" not in text.lower()
    assert doc["parameters"]["evidenceRetentionDays"]["default"] == 365
    # The parameter reaches the module from main.bicep, where azd sets it.
    main = parse_bicep(MAIN)
    assert main["parameters"]["evidenceRetentionDays"]["default"] == 365
    params = main["modules"]["storage"]["config"]["params"]
    assert params["evidenceRetentionDays"] == "evidenceRetentionDays"


def test_only_the_app_identity_holds_a_data_role_on_the_account() -> None:
    doc = parse_bicep(STORAGE)
    assignments = [config(doc, name) for name, r in doc["resources"].items()
                   if r["type"] == "Microsoft.Authorization/roleAssignments"]
    assert assignments
    assert {a["properties"]["principalId"] for a in assignments} == {"appPrincipalId"}
    assert config(doc, "storage")["properties"]["allowSharedKeyAccess"] is False


def test_previous_versions_of_the_host_blobs_expire_but_never_evidence() -> None:
    doc = parse_bicep(STORAGE)
    (rule,) = config(doc, "lifecycle")["properties"]["policy"]["rules"]
    prefixes = rule["definition"]["filters"]["prefixMatch"]
    assert prefixes and not any(p.startswith("evidence") for p in prefixes)
    assert rule["definition"]["actions"]["version"]["delete"]["daysAfterCreationGreaterThan"] == 7
