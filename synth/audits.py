"""Issue 20's directory-audit stories (what an account does after a risky sign-in) and their
benign look-alikes: a help-desk MFA reset and a PIM activation."""

from __future__ import annotations

import json
from typing import Any

from synth.kit import Kit
from synth.shapes import iso
from synth.techniques import BROKER, DEVICE_CODE
from synth.tenant import HOUR, MINUTE, User, new_id

HOSTILE_SP = "Payroll Sync <!channel> [renew](https://evil.example/sp) <b>now</b>"
PIM = {"appId": "01fc33a7-78ba-4d2f-a4b7-768e336e890e", "displayName": "MS-PIM",
       "servicePrincipalId": "3c2f5a1b-8d7e-4f60-9a1b-2c3d4e5f6a7b", "servicePrincipalName": None}


def graph_audit(k: Kit, t: float, activity: str, category: str, service: str,
                operation: str, by: User | dict[str, Any], ip: str | None,
                targets: list[dict[str, Any]], reason: str = "") -> dict[str, Any]:
    """A Graph directoryAudit (the fields of the resource), initiated by a user or an app."""
    initiated: dict[str, Any] = (
        {"app": None, "user": {"id": by.user_id, "displayName": None,
                               "userPrincipalName": by.upn, "ipAddress": ip,
                               "userType": None, "homeTenantId": None, "homeTenantName": None}}
        if isinstance(by, User) else {"app": by, "user": None})
    record = {
        "id": f"Directory_{new_id(k.rng)}", "category": category,
        "correlationId": new_id(k.rng), "result": "success", "resultReason": reason,
        "activityDisplayName": activity, "activityDateTime": iso(t), "loggedByService": service,
        "operationType": operation, "initiatedBy": initiated, "userAgent": None,
        "targetResources": targets, "additionalDetails": [],
    }
    k.items.append((t, "directoryAudit", record))
    return record


def user_target(u: User, props: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"id": u.user_id, "displayName": None, "type": "User", "userPrincipalName": u.upn,
            "groupType": None, "modifiedProperties": props or []}


def other_target(kind: str, name: str, target_id: str,
                 props: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"id": target_id, "displayName": name, "type": kind, "userPrincipalName": None,
            "groupType": None, "modifiedProperties": props or []}


def _ca_policy(state: str, mfa: bool) -> str:
    grant = {"operator": "OR", "builtInControls": ["mfa"], "customAuthenticationFactors": [],
             "termsOfUse": []} if mfa else None
    return json.dumps({"id": "5e3cb481-2814-4295-b4cc-2440a6d66c86",
                       "displayName": "Require MFA for all users", "state": state,
                       "conditions": {"users": {"includeUsers": ["All"]},
                                      "applications": {"includeApplications": ["All"]}},
                       "grantControls": grant}, separators=(",", ":"))


def audit_stories(k: Kit) -> None:
    day = k.days - 3
    # Device code phish, then the attacker registers an authenticator on the account.
    u = k.victim()
    t = k.at(day, 11.0 - u.utc_offset_h)
    proxy = k.proxy()
    ip = proxy.address(k.rng)
    sid = k.signin(k.by_attacker(u, t, proxy, ip, app=BROKER, interactive=False,
                                 extra=DEVICE_CODE))  # fmt: skip
    mfa = graph_audit(k, t + 25 * MINUTE, "User registered security info", "UserManagement",
                      "Authentication Methods", "Add", u, ip, [user_target(u)],
                      "User registered Authenticator App with Notification and Code")
    k.label("device_code_then_mfa", "device_code_phishing", alert=True, users=[u.upn], time=t,
            window=(t, t + HOUR), event_ids=[sid],
            description="a device code grant to the broker (the phish before the MFA change)")
    k.label("device_code_then_mfa", "mfa_method_change_after_risk", alert=True, users=[u.upn],
            time=t + 25 * MINUTE, window=(t, t + HOUR), event_ids=[mfa["id"]],
            description="an authenticator registered 25 minutes after the device code phish, "
            "from the same address: one incident, verdict high")  # fmt: skip

    # A risky sign-in, then a secret added to a service principal by the same account.
    u = k.victim()
    t = k.at(day, 15.0 - u.utc_offset_h)
    proxy = k.proxy()
    ip = proxy.address(k.rng)
    sid = k.signin(k.by_attacker(u, t, proxy, ip, risk_during="medium", risk_aggregated="medium",
                                 risk_state="atRisk", risk_types=("unfamiliarFeatures",)))
    key = [{"displayName": "KeyDescription", "oldValue": None, "newValue": '"backup"'},
           {"displayName": "KeyType", "oldValue": None, "newValue": '"Password"'}]
    cred = graph_audit(k, t + 40 * MINUTE, "Add service principal credentials",
                       "ApplicationManagement", "Core Directory", "Update", u, ip,
                       # Attacker-chosen text (the app's name): hostile on purpose.
                       [other_target("ServicePrincipal", HOSTILE_SP,
                                     "8a1d2c3b-4e5f-4a6b-9c7d-0e1f2a3b4c5d", key)])
    k.label("risky_signin_then_app_secret", "app_credential_after_risk", alert=True,
            users=[u.upn], time=t + 40 * MINUTE, window=(t, t + HOUR), event_ids=[cred["id"]],
            also=("risk_level_passthrough",),
            description="a service principal secret added 40 minutes after a sign-in at "
            "medium risk (atRisk)")  # fmt: skip

    # An administrator assigns Global Administrator directly, not through PIM.
    admin, member = k.victim(), k.victim()
    t = k.at(day + 1, 10.0 - admin.utc_offset_h)
    role = [{"displayName": "Role.DisplayName", "oldValue": None,
             "newValue": '"Global Administrator"'},
            {"displayName": "Role.TemplateId", "oldValue": None,
             "newValue": '"62e90394-69f5-4237-9190-012177145e10"'}]
    grant = graph_audit(k, t, "Add member to role", "RoleManagement", "Core Directory", "Assign",
                        admin, admin.office_ip, [user_target(member, role)])
    k.label("role_outside_pim", "role_assigned_outside_pim", alert=True, users=[admin.upn],
            time=t, window=(t, t + HOUR), event_ids=[grant["id"]],
            description=f"Global Administrator given to {member.upn} directly, not through PIM")

    # MFA removed from the tenant's Conditional Access policy.
    admin = k.victim()
    t = k.at(day + 1, 16.0 - admin.utc_offset_h)
    policy = [{"displayName": "ConditionalAccessPolicy",
               "oldValue": _ca_policy("enabled", mfa=True),
               "newValue": _ca_policy("enabled", mfa=False)}]
    change = graph_audit(k, t, "Update conditional access policy", "Policy",
                         "Conditional Access", "Update", admin, admin.office_ip,
                         [other_target("Policy", "Require MFA for all users",
                                       "5e3cb481-2814-4295-b4cc-2440a6d66c86", policy)])
    k.label("ca_policy_mfa_removed", "ca_policy_mfa_removed", alert=True, users=[admin.upn],
            time=t, window=(t, t + HOUR), event_ids=[change["id"]],
            description="the MFA grant control removed from 'Require MFA for all users'")


def audit_lookalikes(k: Kit) -> None:
    # The help desk resets a user's MFA (new phone): no risky sign-in or alert before it.
    helpdesk, user = k.victim(), k.victim()
    t = k.at(4, 10.0 - helpdesk.utc_offset_h)
    ids = [graph_audit(k, t + i * MINUTE, activity, "UserManagement", "Authentication Methods",
                       operation, helpdesk, helpdesk.office_ip, [user_target(user)])["id"]
           for i, (activity, operation) in enumerate((("Admin deleted security info", "Delete"),
                                                      ("Admin registered security info", "Add")))]
    k.label_quiet("helpdesk_mfa_reset", ("mfa_method_change_after_risk",), user, t, t + HOUR,
                  ids, "benign: the help desk resets a user's MFA with no risky sign-in before "
                  "it", users=[user.upn, helpdesk.upn])  # fmt: skip

    # A PIM activation and Core Directory's echo of it (initiated by MS-PIM).
    admin = k.victim()
    t = k.at(5, 9.0 - admin.utc_offset_h)
    role = other_target("Role", "Global Administrator", "62e90394-69f5-4237-9190-012177145e10")
    ids = [graph_audit(k, t, "Add member to role completed (PIM activation)", "RoleManagement",
                       "PIM", "Add", admin, admin.office_ip, [role, user_target(admin)])["id"],
           graph_audit(k, t + 2, "Add member to role", "RoleManagement", "Core Directory",
                       "Assign", PIM, None, [user_target(admin)])["id"]]
    k.label_quiet("pim_activation", ("role_assigned_outside_pim",), admin, t, t + HOUR, ids,
                  "benign: a just-in-time activation through PIM, and its Core Directory echo")
