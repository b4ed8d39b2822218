"""Privileged principals from Graph's directory role assignments, parsed purely.

Input: pages of ``GET /roleManagement/directory/roleAssignments?$expand=principal,
roleDefinition`` (least-privileged application permission RoleManagement.Read.Directory),
as parsed JSON. Output: a map of principal object id to the privileged roles it holds.

The object id (``principalId``) is the key: it never changes and every sign-in and risk
record carries it as ``userId``. The UPN from the ``principal`` expansion is kept only as a
fallback index for events without an object id: a UPN can be renamed or reused after an
administrator leaves, and with RoleManagement.Read.Directory alone Graph may return the
expansion with limited properties (no UPN) for principals the app cannot read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from detections.errors import InputError, Where

# Tier-0 roles by template id (stable across tenants): each can take over the tenant
# or its identities. Billing, Global Reader, Teams and Compliance admins are left
# out on purpose: they cannot grant themselves control of identities.
PRIVILEGED_ROLES: Mapping[str, str] = {
    "62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
    "e8611ab8-c189-46e8-94e1-60213ab1f814": "Privileged Role Administrator",
    "7be44c8a-adaf-4e2a-84d6-ab2649e08a13": "Privileged Authentication Administrator",
    "29232cdf-9323-42fd-ade2-1d097af3e4de": "Exchange Administrator",
    "194ae4cb-b126-40b2-bd5b-6091b380977d": "Security Administrator",
    "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3": "Application Administrator",
    "158c047a-c907-4556-b7ef-446551a6b5f7": "Cloud Application Administrator",
    "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2": "Hybrid Identity Administrator",
    "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9": "Conditional Access Administrator",
    "fe930be7-5e62-47db-91af-98c3a49a38b1": "User Administrator",
    "c4e39bd9-1100-46d3-8c65-fb160da0071f": "Authentication Administrator",
    "3a2c62db-5318-420d-8d74-23affee5d9d5": "Intune Administrator",
    "f28a1f50-f6e7-4571-818b-6a12f2af6b6c": "SharePoint Administrator",
    "8329153b-31d0-4727-b945-745eb3bc5f31": "Domain Name Administrator",
    "be2f45a1-457d-42af-a067-6ec1fa63bc45": "External Identity Provider Administrator",
    "e00e864a-17c5-4a4b-9c06-f5b95a8d5bd8": "Partner Tier2 Support",
    "d29b2b05-8046-44ba-8758-1e26182fcf32": "Directory Synchronization Accounts",
}


@dataclass(frozen=True, slots=True)
class PrivilegedMap:
    """Who holds which privileged roles, by object id; ``by_upn`` is a fallback index only."""

    by_id: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    by_upn: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def roles_of(self, object_id: str | None, upn: str | None) -> tuple[str, ...]:
        """An event's principal: when it carries an object id, only the id decides.

        The UPN is looked up only for an event without an object id (a Log Analytics
        projection or a CSV export that dropped ``UserId``): a UPN that matches while the
        id does not is another account (renamed or reused name), not the role holder.
        """
        key = (object_id or "").strip().lower()
        if key:
            return self.by_id.get(key, ())
        return self.by_upn.get((upn or "").strip().lower(), ())

    def roles_of_key(self, user_key: str) -> tuple[str, ...]:
        """A correlation user key (``predicates.user_key``): the object id when the event had
        one, else its lower-cased UPN. Object ids never contain ``@``; UPNs always do."""
        key = user_key.strip().lower()
        return self.by_upn.get(key, ()) if "@" in key else self.by_id.get(key, ())

    def __len__(self) -> int:
        return len(self.by_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "by_id": {k: list(v) for k, v in self.by_id.items()},
            "by_upn": {k: list(v) for k, v in self.by_upn.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PrivilegedMap:
        return cls(
            by_id={k: tuple(v) for k, v in data.get("by_id", {}).items()},
            by_upn={k: tuple(v) for k, v in data.get("by_upn", {}).items()},
        )


def parse_role_assignments(
    pages: Iterable[Any],
    source: str = "roleAssignments",
    skipped: list[InputError] | None = None,
) -> PrivilegedMap:
    """Build the map from response pages (each ``{"value": [...]}``, or a bare list).

    Only tenant-wide assignments (directoryScopeId ``/``) of tier-0 roles count; an
    administrative-unit scope is not tenant control. Group principals are kept by
    id (their members are not expanded here). A malformed assignment raises an
    ``InputError`` naming page and field; with ``skipped`` it is appended there instead
    and the rest is read, so one broken record never drops the whole map.
    """
    by_id: dict[str, set[str]] = {}
    by_upn: dict[str, set[str]] = {}
    for page_no, page in enumerate(pages, start=1):
        records = page.get("value") if isinstance(page, Mapping) else page
        if not isinstance(records, list):
            _problem(InputError(Where(source, page_no, "value"), "expected a list"), skipped)
            continue
        for index, record in enumerate(records):
            try:
                entry = _assignment(record, Where(source, page_no, f"value[{index}]"))
            except InputError as exc:
                _problem(exc, skipped)
                continue
            if entry is not None:
                principal_id, role, upn = entry
                by_id.setdefault(principal_id, set()).add(role)
                if upn:
                    by_upn.setdefault(upn, set()).add(role)
    return PrivilegedMap(
        by_id={k: tuple(sorted(v)) for k, v in by_id.items()},
        by_upn={k: tuple(sorted(v)) for k, v in by_upn.items()},
    )


def _problem(error: InputError, skipped: list[InputError] | None) -> None:
    if skipped is None:
        raise error
    skipped.append(error)


def _assignment(record: Any, where: Where) -> tuple[str, str, str | None] | None:
    """(object id, role name, lower-cased UPN or None), or None when not tier-0 tenant-wide."""
    if not isinstance(record, Mapping):
        raise InputError(where, "a role assignment must be an object")
    role = _role_name(record)
    if role is None or record.get("directoryScopeId", "/") not in ("/", None):
        return None
    principal = record.get("principal")
    principal = principal if isinstance(principal, Mapping) else {}
    # principalId is the assignment's own property; the expansion's id is a fallback.
    principal_id = record.get("principalId") or principal.get("id")
    if not isinstance(principal_id, str) or not principal_id.strip():
        raise InputError(
            Where(where.source, where.line, f"{where.field}.principalId"),
            "role assignment without a principalId string",
        )
    upn = principal.get("userPrincipalName")
    return principal_id.strip().lower(), role, upn.strip().lower() if isinstance(upn, str) else None


def _role_name(record: Mapping[str, Any]) -> str | None:
    definition = record.get("roleDefinition")
    definition = definition if isinstance(definition, Mapping) else {}
    for candidate in (
        definition.get("templateId"),
        record.get("roleDefinitionId"),
        definition.get("id"),
    ):
        if not isinstance(candidate, str):
            continue
        name = PRIVILEGED_ROLES.get(candidate.lower())
        if name is not None:
            return name
    return None
