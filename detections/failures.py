"""What a sign-in's errorCode means for the failure rules: ONE table, in one place.

Only ``credential`` and ``mfa`` failures count toward the failure rules. An
interrupt (MFA or device prompt) means the password was right; consent (65001)
is an app nobody approved, never a credential attack (seed 002); a policy block
is Conditional Access doing its job.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, TypeAlias

from detections.model import SignIn

FailureClass: TypeAlias = Literal[
    "none", "credential", "mfa", "interrupt", "consent", "policy", "other"
]

ERROR_CLASSES: Mapping[int, FailureClass] = {
    # Credential failures: somebody tried a password (or a name) that did not work.
    50126: "credential",  # invalid username or password
    50034: "credential",  # user does not exist (enumeration, typo'd spray lists)
    50053: "credential",  # smart lockout / sign-in from a malicious IP
    50055: "credential",  # password expired (still a password guess that reached the user)
    50056: "credential",  # invalid or null password
    50057: "credential",  # account disabled
    50064: "credential",  # credential validation failed
    50144: "credential",  # on-premises password expired
    # MFA failures: the password was right, the second factor was not.
    500121: "mfa",  # strong authentication failed: denied, no answer, fraud reported
    # Interrupts: a normal step of a sign-in, usually followed by success.
    50074: "interrupt",  # strong authentication required
    50076: "interrupt",  # MFA required (location/policy change)
    50079: "interrupt",  # user must register for MFA
    50072: "interrupt",  # user must enrol for second factor
    50140: "interrupt",  # "keep me signed in" prompt
    50058: "interrupt",  # silent sign-in, no session yet
    50097: "interrupt",  # device authentication required
    50125: "interrupt",  # password reset or registration entry
    50129: "interrupt",  # device not workplace joined
    50199: "interrupt",  # CMSI interrupt (security confirmation)
    16000: "interrupt",  # account selection
    16001: "interrupt",  # account selection, multiple accounts
    16003: "interrupt",  # account not in tenant of the app
    81010: "interrupt",  # seamless SSO: Kerberos ticket expired
    # Consent: admin consent missing for an app, never a credential attack (seed 002).
    65001: "consent",
    65004: "consent",  # user declined consent
    65005: "consent",  # app misconfigured for consent
    # Policy blocks: Conditional Access stopped the sign-in.
    53000: "policy",  # device not compliant
    53001: "policy",  # device not domain joined
    53002: "policy",  # app not approved
    53003: "policy",  # blocked by Conditional Access
    53004: "policy",  # proof-up required but blocked
    530032: "policy",  # blocked by security defaults/policy
}

COUNTED: frozenset[FailureClass] = frozenset({"credential", "mfa"})
SMART_LOCKOUT = 50053
MFA_DENIED = 500121


def classify_code(error_code: int) -> FailureClass:
    """The class of an errorCode; 0 is ``none`` and unknown codes are ``other``."""
    if error_code == 0:
        return "none"
    return ERROR_CLASSES.get(error_code, "other")


def classify(sign_in: SignIn) -> FailureClass:
    """The class of a sign-in's outcome (a success with a stray code is still ``none``)."""
    if sign_in.success and sign_in.error_code == 0:
        return "none"
    if sign_in.error_code == 0:
        return "other"  # failed without a code: nothing to count
    return classify_code(sign_in.error_code)


def counts_as_failure(sign_in: SignIn) -> bool:
    """Whether the failure rules count this sign-in (credential or MFA failure)."""
    return classify(sign_in) in COUNTED
