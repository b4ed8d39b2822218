"""A directory role assigned outside PIM, or to a user flagged at risk (Panther
``Azure.Audit.RoleChangedPIM``, Sentinel "New User Assigned to Privileged Role" and
"Privileged role assigned outside PIM").

Outside PIM: Core Directory's "Add member to role" not initiated by the PIM service
(PIM's own activations are echoed by Core Directory as "Add member to role" by MS-PIM),
PIM's "Add member to role outside of PIM" report, and a permanent active assignment
completed in PIM (standing access, which PIM exists to avoid: Panther's positive).
**Divergence from Panther:** its negative "Add member to role (Non PIM)" is exactly what
this rule exists to catch, so it is a positive here. PIM requests, time-bound and eligible
assignments and activations alert only for a member flagged at risk.
"""

from __future__ import annotations

from datetime import timedelta

from detections.audit import (
    AuditUser,
    activity,
    actor_user,
    audit_context,
    audit_of,
    flag_of,
    unquoted,
)
from detections.history_records import Flag
from detections.model import AuditTarget, DirectoryAudit, Event, Severity
from detections.rule import Context, Finding, Param, Rule, RuleTest
from detections.testing import (
    T0,
    app_actor,
    directory_audit,
    sign_in,
    target,
    user_actor,
    user_target,
)

# The PIM service principal's names and app id (it initiates the Core Directory echo).
PIM_NAMES = frozenset({"ms-pim", "ms-pim-fairfax", "azure ad pim", "ms-pim-mooncake"})
PIM_APP_ID = "01fc33a7-78ba-4d2f-a4b7-768e336e890e"
MEMBER_TYPES = ("User", "ServicePrincipal")


def _by_pim(audit: DirectoryAudit) -> bool:
    actor = audit.initiated_by
    names = {(n or "").lower() for n in (actor.app_display_name, actor.service_principal_name)}
    return bool(names & PIM_NAMES) or actor.app_id == PIM_APP_ID


def outside_pim(audit: DirectoryAudit) -> str | None:
    """Why the assignment is outside PIM (standing access), or None."""
    name = activity(audit)
    if "outside of pim" in name or "outside pim" in name:
        return "PIM reported an assignment made outside PIM"
    if name == "add member to role" and not _by_pim(audit):
        return "assigned directly, not through PIM"
    if name.startswith("add member to role in pim completed") and "permanent" in name:
        return "a permanent active assignment through PIM (standing access)"
    return None


def is_role_grant(audit: DirectoryAudit) -> bool:
    """A completed grant of an active or eligible role (PIM requests grant nothing yet)."""
    name = activity(audit)
    if "requested" in name or not name.startswith(("add member to role", "add eligible member")):
        return False
    return "remove" not in name


def role_name(audit: DirectoryAudit) -> str:
    for role in audit.targets_of("Role"):
        if role.display_name:
            return role.display_name
    for t in audit.targets:
        prop = t.property("Role.DisplayName")
        if prop is not None and unquoted(prop.new_value):
            return unquoted(prop.new_value) or "unknown role"
    return "unknown role"


def _member(audit: DirectoryAudit) -> AuditTarget | None:
    return next(iter(audit.targets_of(*MEMBER_TYPES)), None)


def match(event: Event, ctx: Context) -> Finding | None:
    audit = audit_of(event)
    if audit is None or not is_role_grant(audit):
        return None
    horizon = timedelta(days=ctx.float_param("flag_days"))
    member = _member(audit)
    member_user = (AuditUser(member.user_principal_name, member.id, member.display_name)
                   if member is not None and (member.type or "").lower() == "user" else None)
    actor = actor_user(audit.initiated_by)
    member_flag = flag_of(ctx, member_user, audit, horizon)
    actor_flag = flag_of(ctx, actor, audit, horizon)
    why = outside_pim(audit)
    if why is None and member_flag is None:
        return None
    role = role_name(audit)
    principal: str
    flag: Flag | None
    flagged: AuditUser | None
    if member_flag is not None and member_user is not None:
        principal, flag, flagged = member_user.name, member_flag, member_user
        why = (why + "; " if why else "") + "the member was flagged at risk"
    else:
        principal, flag, flagged = audit.principal, actor_flag, actor if actor_flag else None
    privileged = "admin" in role.lower()
    severity = Severity.HIGH if privileged or flag is not None else Severity.MEDIUM
    who = (member.user_principal_name or member.display_name or member.id) if member else None
    return Finding(
        title=f"{role} assigned to {who or 'an unknown member'} by {audit.principal}: {why}",
        severity=severity,
        principal=principal,
        context={**audit_context(audit, flag, flagged), "role": role, "member": who,
                 "why": why, "privileged_role": privileged},
        dedup_values=((who or "").lower(), role.lower()),
        related_event_ids=_flag_ids(flag),
    )


def _flag_ids(flag: Flag | None) -> tuple[str, ...]:
    return (flag.source_event,) if flag else ()


_ADMIN = user_actor("admin@contoso.com", "u-admin")
_GA = target("Role", "Global Administrator", "role-ga")
_BOB = user_target("bob@contoso.com", "u-bob")


def _grant(name: str, **overrides: object) -> DirectoryAudit:
    base: dict[str, object] = dict(
        activity_display_name=name, category="RoleManagement", operation_type="Add",
        logged_by_service="Core Directory", initiated_by=_ADMIN, targets=(_GA, _BOB),
    )
    return directory_audit(**{**base, **overrides})


RULE = Rule(
    uses_history=True,
    id="role_assigned_outside_pim",
    version=1,
    title="Directory role assigned outside PIM, or to a user at risk",
    description=(
        "A directory role was assigned directly instead of through PIM's just-in-time "
        "activation (or as permanent standing access), or any role was granted to a user "
        "flagged at risk (a risky sign-in or an alert before it)."
    ),
    severity=Severity.HIGH,
    risk_score=73,
    mitre=("T1098.003", "T1078.004"),
    kinds=("directoryAudit",),
    dedup_fields=("principal",),
    dedup_window=timedelta(hours=1),
    investigation=(
        "Who assigned the role, from which IP, and is there a change ticket?",
        "Is the member a new or dormant account, and was it flagged at risk (recent_flag)?",
        "Remove an unexpected assignment and review what the member did with the role.",
    ),
    false_positives=(
        "Break-glass accounts and onboarding scripts that assign roles directly: move them "
        "to PIM, or disable this rule while they run.",
        "A tenant that does not use PIM at all alerts on every assignment: disable the rule "
        "(RISKWATCH_DISABLED_RULES) there.",
    ),
    references=(
        "https://github.com/panther-labs/panther-analysis/blob/main/rules/"
        "azure_signin_rules/azure_role_changed_pim.yml",
        "https://github.com/Azure/Azure-Sentinel/blob/master/Solutions/Microsoft%20Entra%20ID/"
        "Analytic%20Rules/UserAssignedPrivilegedRole.yaml",
        "https://github.com/Azure/Azure-Sentinel/blob/master/Solutions/Microsoft%20Entra%20ID/"
        "Analytic%20Rules/PrivlegedRoleAssignedOutsidePIM.yaml",
    ),
    known_gaps=(
        "Divergence from Panther: 'Add member to role (Non PIM)' is a positive here.",
        "Role assignments through Azure RBAC (subscriptions) are in the Azure activity log, "
        "not the directory audit, and are not seen.",
        "Group-based role assignment (a member added to a role-assignable group) is not seen.",
    ),
    params=(
        Param(
            name="flag_days",
            default=7.0,
            description="How recent a member's flag (risky sign-in or alert) makes any "
            "grant alert (the incident quiet default).",
            minimum=1.0, maximum=30.0,
        ),
    ),
    match=match,
    tests=(
        RuleTest(
            name="Global Administrator assigned directly fires",
            event=_grant("Add member to role"),
            expect=True, severity=Severity.HIGH, dedup=("bob@contoso.com", "global administrator"),
        ),
        RuleTest(
            name="the Core Directory echo of a PIM activation does not",
            event=_grant("Add member to role", initiated_by=app_actor("MS-PIM", PIM_APP_ID)),
            expect=False,
        ),
        RuleTest(
            name="a PIM activation does not",
            event=_grant("Add member to role completed (PIM activation)", logged_by_service="PIM"),
            expect=False,
        ),
        RuleTest(
            name="a PIM request does not",
            event=_grant("Add member to role in PIM requested (permanent)",
                         logged_by_service="PIM"),
            expect=False,
        ),
        RuleTest(
            name="a permanent assignment completed in PIM fires (standing access)",
            event=_grant("Add member to role in PIM completed (permanent)",
                         logged_by_service="PIM"),
            expect=True,
        ),
        RuleTest(
            name="a PIM activation by a user flagged at risk fires",
            before=(sign_in(id="risky-bob", time=T0 - timedelta(hours=5), user_id="u-bob",
                            user_principal_name="bob@contoso.com", risk_state="atRisk",
                            risk_level_during_sign_in="high"),),
            event=_grant("Add member to role completed (PIM activation)", logged_by_service="PIM"),
            expect=True, severity=Severity.HIGH,
        ),
        RuleTest(
            name="a non-admin role assigned directly is medium",
            event=_grant("Add member to role", targets=(target("Role", "Reports Reader"), _BOB)),
            expect=True, severity=Severity.MEDIUM,
        ),
        RuleTest(
            name="a role removed does not",
            event=_grant("Remove member from role"),
            expect=False,
        ),
        RuleTest(
            name="a failed assignment does not",
            event=_grant("Add member to role", result="failure"),
            expect=False,
        ),
    ),
)
