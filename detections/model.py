"""The canonical event model every normalizer produces and every rule reads.

Four entity types (sign-ins, risk detections, risky users, directory audits), typed and slotted,
with timezone-aware datetimes. Values keep Microsoft Graph's vocabulary
(riskState ``atRisk``, category ``nonInteractiveUser`` ...) so rule code reads
like the Graph documentation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import ClassVar, Literal, TypeAlias

EventKind: TypeAlias = Literal["signIn", "riskDetection", "riskyUser", "directoryAudit"]

# Graph signInEventTypes vocabulary, plus ``adfs`` for AD FS sign-ins in the export.
SignInCategory: TypeAlias = Literal[
    "interactiveUser", "nonInteractiveUser", "servicePrincipal", "managedIdentity", "adfs"
]

# riskState values in Graph's spelling; normalizers map any casing onto these.
RISK_STATES = (
    "none",
    "atRisk",
    "confirmedCompromised",
    "remediated",
    "dismissed",
    "confirmedSafe",
    "unknownFutureValue",
)
# A risk that somebody has closed: never alert on it (seed 000, seed 004).
CLOSED_RISK_STATES = frozenset({"remediated", "dismissed", "confirmedSafe"})
# ``hidden`` means the tenant cannot see the level (no P2 licence): unknown, never "none".
RISK_LEVELS = ("none", "low", "medium", "high", "hidden", "unknownFutureValue")
ACTIVE_RISK_LEVELS = ("low", "medium", "high")
# Open and flagged: what a risky user's or a sign-in's state says when the risk is real.
AT_RISK_STATES = frozenset({"atRisk", "confirmedCompromised"})
# Sign-ins of people, whose history the correlation rules keep; the interactive ones
# (when the record does not say) are the timeline the travel and country rules judge.
USER_SIGN_IN_CATEGORIES = frozenset({"interactiveUser", "nonInteractiveUser", "adfs"})
INTERACTIVE_CATEGORIES = frozenset({"interactiveUser", "adfs"})


class Severity(StrEnum):
    """Alert severity, ordered from least to most urgent."""

    INFORMATIONAL = "informational"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    @classmethod
    def parse(cls, value: str) -> Severity:
        """Parse a severity name case-insensitively (``info`` is accepted)."""
        text = value.strip().lower()
        if text == "info":
            text = "informational"
        return cls(text)

    def at_least(self, other: Severity) -> Severity:
        """The more severe of ``self`` and ``other``."""
        return self if self.rank >= other.rank else other


_SEVERITY_RANK = {s: i for i, s in enumerate(Severity)}


@dataclass(frozen=True, slots=True, kw_only=True)
class Location:
    city: str | None = None
    state: str | None = None
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None

    @property
    def has_coordinates(self) -> bool:
        # Exports write 0,0 for "unknown" (AD FS records): treat it as missing.
        return (
            self.latitude is not None
            and self.longitude is not None
            and not (self.latitude == 0 and self.longitude == 0)
        )

    def describe(self) -> str:
        parts = [p for p in (self.city, self.state, self.country) if p]
        return ", ".join(parts) if parts else "unknown location"


NO_LOCATION = Location()


@dataclass(frozen=True, slots=True, kw_only=True)
class Device:
    device_id: str | None = None
    display_name: str | None = None
    os: str | None = None
    browser: str | None = None
    is_compliant: bool | None = None
    is_managed: bool | None = None
    trust_type: str | None = None


NO_DEVICE = Device()


@dataclass(frozen=True, slots=True, kw_only=True)
class SignIn:
    """One sign-in of any category (interactive, non-interactive, service principal ...)."""

    kind: ClassVar[EventKind] = "signIn"

    id: str
    time: datetime
    category: SignInCategory = "interactiveUser"
    correlation_id: str | None = None
    user_principal_name: str | None = None
    user_id: str | None = None
    user_display_name: str | None = None
    service_principal_name: str | None = None
    service_principal_id: str | None = None
    app_id: str | None = None
    app_display_name: str | None = None
    resource_display_name: str | None = None
    ip_address: str | None = None
    autonomous_system_number: int | None = None
    location: Location = NO_LOCATION
    device: Device = NO_DEVICE
    error_code: int = 0
    failure_reason: str | None = None
    success: bool = True
    interactive: bool | None = None
    risk_level_during_sign_in: str | None = None
    risk_level_aggregated: str | None = None
    risk_state: str | None = None
    risk_detail: str | None = None
    risk_event_types: tuple[str, ...] = ()
    conditional_access_status: str | None = None
    authentication_requirement: str | None = None
    session_id: str | None = None
    user_agent: str | None = None
    client_app_used: str | None = None
    tenant_id: str | None = None
    # How the token was obtained, as Graph spells it (deviceCode, ropc, oAuth2, saml20, none):
    # Graph beta and the export carry it, v1.0 objects may not (None: unknown, never "none").
    authentication_protocol: str | None = None
    original_transfer_method: str | None = None  # deviceCodeFlow, authenticationTransfer
    incoming_token_type: str | None = None  # primaryRefreshToken, saml11, remoteDesktopToken
    resource_id: str | None = None  # the resource's app id (Microsoft Graph: 00000003-...)
    conditional_access_audiences: tuple[str, ...] = ()  # application ids CA evaluated
    authentication_methods: tuple[str, ...] = ()  # methods of the steps that succeeded
    user_type: str | None = None  # member, guest
    # networkLocationDetails: a trusted named location (networkType trusted or
    # trustedNamedLocation); None when the record does not say. namedNetwork is not trust.
    trusted_location: bool | None = None
    named_networks: tuple[str, ...] = ()  # the named locations the sign-in matched

    @property
    def principal(self) -> str:
        return (
            self.user_principal_name
            or self.service_principal_name
            or self.user_id
            or self.service_principal_id
            or "unknown"
        )

    @property
    def event_id(self) -> str:
        return self.id


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskDetection:
    """A user or service principal risk detection (Graph riskDetection and its siblings)."""

    kind: ClassVar[EventKind] = "riskDetection"

    id: str
    time: datetime  # activityDateTime, else detectedDateTime
    risk_event_type: str
    risk_level: str | None = None
    risk_state: str | None = None
    risk_detail: str | None = None
    activity: str | None = None  # signin | user | servicePrincipal
    detection_timing_type: str | None = None  # realtime | nearRealtime | offline
    source: str | None = None
    token_issuer_type: str | None = None
    request_id: str | None = None
    correlation_id: str | None = None
    activity_time: datetime | None = None
    detected_time: datetime | None = None
    last_updated_time: datetime | None = None
    user_id: str | None = None
    user_principal_name: str | None = None
    user_display_name: str | None = None
    service_principal_id: str | None = None
    service_principal_name: str | None = None
    app_id: str | None = None
    ip_address: str | None = None
    location: Location = NO_LOCATION
    additional_info: tuple[tuple[str, str], ...] = ()
    tenant_id: str | None = None

    @property
    def principal(self) -> str:
        return (
            self.user_principal_name
            or self.service_principal_name
            or self.user_id
            or self.service_principal_id
            or "unknown"
        )

    @property
    def event_id(self) -> str:
        return self.id

    def info(self, key: str) -> str | None:
        """A value of ``additionalInfo`` by key (case-insensitive), e.g. ``userAgent``."""
        wanted = key.lower()
        for k, v in self.additional_info:
            if k.lower() == wanted:
                return v
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskyUser:
    """A user's current risk as Identity Protection reports it (Graph riskyUser)."""

    kind: ClassVar[EventKind] = "riskyUser"

    id: str  # the user's object id
    time: datetime  # riskLastUpdatedDateTime
    user_principal_name: str | None = None
    user_display_name: str | None = None
    risk_level: str | None = None
    risk_state: str | None = None
    risk_detail: str | None = None
    is_deleted: bool | None = None
    is_processing: bool | None = None
    is_guest: bool | None = None
    tenant_id: str | None = None

    @property
    def principal(self) -> str:
        return self.user_principal_name or self.id

    @property
    def user_id(self) -> str:
        return self.id

    @property
    def event_id(self) -> str:
        # A risky user record changes over time: its identity is user + update time.
        return f"{self.id}@{self.time.isoformat()}"


# A directory audit's text is bounded (a Conditional Access policy's JSON is a few KB; a
# hostile record could carry megabytes): longer values are cut and marked ``truncated``.
MAX_AUDIT_VALUE = 16_384
MAX_AUDIT_TARGETS = 20
MAX_AUDIT_PROPERTIES = 50


@dataclass(frozen=True, slots=True, kw_only=True)
class ModifiedProperty:
    """One changed property of an audit target (``oldValue``/``newValue`` as logged: JSON text)."""

    name: str | None = None
    old_value: str | None = None
    new_value: str | None = None
    truncated: bool = False  # a value was longer than MAX_AUDIT_VALUE and was cut


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditTarget:
    """One of a directory audit's ``targetResources`` (a user, role, policy, app ...)."""

    type: str | None = None  # User, Role, Policy, ServicePrincipal, Application ...
    id: str | None = None
    user_principal_name: str | None = None
    display_name: str | None = None
    modified_properties: tuple[ModifiedProperty, ...] = ()

    def property(self, name: str) -> ModifiedProperty | None:
        """A modified property by display name (case-insensitive)."""
        wanted = name.lower()
        return next((p for p in self.modified_properties
                     if p.name is not None and p.name.lower() == wanted), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditActor:
    """Who did it (``initiatedBy``): a user, or an application / service principal."""

    user_principal_name: str | None = None
    user_id: str | None = None
    user_display_name: str | None = None
    ip_address: str | None = None
    app_id: str | None = None
    app_display_name: str | None = None
    service_principal_id: str | None = None
    service_principal_name: str | None = None

    @property
    def is_user(self) -> bool:
        return bool(self.user_principal_name or self.user_id)

    def describe(self) -> str:
        return (self.user_principal_name or self.app_display_name or self.service_principal_name
                or self.user_id or self.service_principal_id or self.app_id or "unknown")


NO_ACTOR = AuditActor()


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectoryAudit:
    """One Entra directory audit record (Graph directoryAudit, the export's AuditLogs)."""

    kind: ClassVar[EventKind] = "directoryAudit"

    id: str
    time: datetime  # activityDateTime
    activity_display_name: str
    category: str | None = None  # UserManagement, RoleManagement, Policy, ApplicationManagement
    operation_type: str | None = None  # Add, Update, Delete, Assign ...
    result: str | None = None  # success, failure, timeout, unknownFutureValue (lower-cased)
    result_reason: str | None = None
    logged_by_service: str | None = None  # Core Directory, PIM, Conditional Access ...
    initiated_by: AuditActor = NO_ACTOR
    targets: tuple[AuditTarget, ...] = ()
    additional_details: tuple[tuple[str, str], ...] = ()
    correlation_id: str | None = None
    tenant_id: str | None = None

    @property
    def principal(self) -> str:
        return self.initiated_by.describe()

    @property
    def user_id(self) -> str | None:
        return self.initiated_by.user_id

    @property
    def ip_address(self) -> str | None:
        return self.initiated_by.ip_address

    @property
    def event_id(self) -> str:
        return self.id

    @property
    def succeeded(self) -> bool:
        return self.result == "success"

    def targets_of(self, *types: str) -> tuple[AuditTarget, ...]:
        """The targets of these types (case-insensitive), in record order."""
        wanted = {t.lower() for t in types}
        return tuple(t for t in self.targets if t.type is not None and t.type.lower() in wanted)

    def detail(self, key: str) -> str | None:
        """A value of ``additionalDetails`` by key (case-insensitive)."""
        wanted = key.lower()
        return next((v for k, v in self.additional_details if k.lower() == wanted), None)


Event: TypeAlias = SignIn | RiskDetection | RiskyUser | DirectoryAudit
