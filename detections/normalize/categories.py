"""Export categories and Log Analytics tables -> entity kind and sign-in category."""

from __future__ import annotations

from detections.model import EventKind, SignInCategory

# Keyed by the lower-cased name: diagnostic categories (SignInLogs ...) and Log Analytics
# tables (SigninLogs, AADNonInteractiveUserSignInLogs ...) share one table.
_BY_NAME: dict[str, tuple[EventKind, SignInCategory | None]] = {
    "signinlogs": ("signIn", "interactiveUser"),
    "noninteractiveusersigninlogs": ("signIn", "nonInteractiveUser"),
    "aadnoninteractiveusersigninlogs": ("signIn", "nonInteractiveUser"),
    "serviceprincipalsigninlogs": ("signIn", "servicePrincipal"),
    "aadserviceprincipalsigninlogs": ("signIn", "servicePrincipal"),
    "microsoftserviceprincipalsigninlogs": ("signIn", "servicePrincipal"),
    "managedidentitysigninlogs": ("signIn", "managedIdentity"),
    "aadmanagedidentitysigninlogs": ("signIn", "managedIdentity"),
    "adfssigninlogs": ("signIn", "adfs"),
    "userriskevents": ("riskDetection", None),
    "aaduserriskevents": ("riskDetection", None),
    "serviceprincipalriskevents": ("riskDetection", None),
    "aadserviceprincipalriskevents": ("riskDetection", None),
    "riskyusers": ("riskyUser", None),
    "aadriskyusers": ("riskyUser", None),
    "auditlogs": ("directoryAudit", None),  # the export's category and the Log Analytics table
}
# Exact spellings first: saves a lower() per record on the hot path.
_EXACT = {
    "SignInLogs": _BY_NAME["signinlogs"],
    "SigninLogs": _BY_NAME["signinlogs"],
    "NonInteractiveUserSignInLogs": _BY_NAME["noninteractiveusersigninlogs"],
    "AADNonInteractiveUserSignInLogs": _BY_NAME["aadnoninteractiveusersigninlogs"],
}

SIGN_IN_OPERATION = "Sign-in activity"


def lookup(name: object) -> tuple[EventKind, SignInCategory | None] | None:
    """The entity kind and sign-in category of a category/table name, or None."""
    if not isinstance(name, str):
        return None
    return _EXACT.get(name) or _BY_NAME.get(name.lower())
