"""What the sign-in technique rules share: the clients, flows and protocols they look for.

Values compare case-insensitively (Graph writes ``deviceCode``, Log Analytics rows and
older exports vary). A missing field is unknown: ``authenticationProtocol`` is absent from
some Graph v1.0 objects, and then no rule reads a flow into it.
"""

from __future__ import annotations

from detections.model import SignIn

BROKER_APP_ID = "29d9ed98-a469-4536-ade2-f981bc1d605e"  # Microsoft Authentication Broker
VSCODE_APP_ID = "aebc6443-996d-45c2-90f0-388ff96faa56"  # Visual Studio Code
AZURE_CLI_APP_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"  # Microsoft Azure CLI
GRAPH_RESOURCE_ID = "00000003-0000-0000-c000-000000000000"  # Microsoft Graph
GRAPH_RESOURCE_NAME = "microsoft graph"

# clientAppUsed values of legacy (basic) authentication: no MFA, no Conditional Access
# device or risk controls (Microsoft's "Other clients" and Exchange ActiveSync groups).
LEGACY_CLIENT_APPS = frozenset(
    {
        "authenticated smtp",
        "autodiscover",
        "exchange activesync",
        "exchange online powershell",
        "exchange web services",
        "imap",
        "imap4",
        "mapi over http",
        "offline address book",
        "other clients",
        "outlook anywhere (rpc over http)",
        "outlook service",
        "pop",
        "pop3",
        "reporting web services",
        "smtp",
    }
)
# User agents of the ROPC legacy flow (Panther: BAV2ROPC, CBAInPROD; Sigma adds CBAinTAR).
LEGACY_USER_AGENTS = ("bav2ropc", "cbainprod", "cbaintar")


def id_list(text: str) -> frozenset[str]:
    """A comma list setting of ids or UPNs, lower-cased; ``none`` or empty is no ids."""
    if text.strip().lower() == "none":
        return frozenset()
    return frozenset(p.strip().lower() for p in text.split(",") if p.strip())


def protocol(event: SignIn) -> str | None:
    return event.authentication_protocol.lower() if event.authentication_protocol else None


def is_device_code(event: SignIn) -> bool:
    """A device code grant: the protocol, or (token refreshes) the original transfer."""
    transfer = (event.original_transfer_method or "").lower()
    return protocol(event) == "devicecode" or transfer == "devicecodeflow"


def is_graph_resource(event: SignIn) -> bool:
    """Microsoft Graph by its app id or its name (Panther's test data names it with a
    made-up id; a renamed resource cannot take Graph's id)."""
    if (event.resource_id or "").lower() == GRAPH_RESOURCE_ID:
        return True
    return (event.resource_display_name or "").strip().lower() == GRAPH_RESOURCE_NAME


def legacy_reason(event: SignIn) -> str | None:
    """Why the sign-in is legacy or ROPC authentication, else None."""
    client = (event.client_app_used or "").strip().lower()
    if client in LEGACY_CLIENT_APPS:
        return f"legacy client {event.client_app_used}"
    agent = (event.user_agent or "").lower()
    if any(token in agent for token in LEGACY_USER_AGENTS):
        return "ROPC user agent"
    if protocol(event) == "ropc":
        return "ROPC protocol"
    return None


def mfa_satisfied(event: SignIn) -> bool:
    """Only ``multiFactorAuthentication`` says a second factor was satisfied; a missing
    requirement is unknown and, for legacy and ROPC flows (which cannot do MFA), single."""
    return event.authentication_requirement == "multiFactorAuthentication"


def user_ids(event: SignIn) -> frozenset[str]:
    """The user's and the app's identifiers, lower-cased, for exception lists."""
    values = (event.user_id, event.user_principal_name, event.app_id)
    return frozenset(v.lower() for v in values if v)
