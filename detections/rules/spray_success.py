"""Spray success: a user whose password a password spray got right, in their own incident.

A sprayed password that works is often the user's only sign-in from the address: no
earlier failures of theirs, a country they use, a plausible distance. Nothing else
fires, so the spray itself says who got in. Two orders, one alert:

- the password is accepted while the address is already spraying (judged on the success);
- the spray is recognised after the success (judged on the failure that completes it,
  which raises one finding per user the window shows signed in).

Both use password_spray's recognition and thresholds (``detections.spray``); the dedup
key is the user, so the two orders and the rest of the spray collapse into one alert.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from detections.correlation import MAX_LISTED, ids, user_sign_in
from detections.correlation_history import attempt_record
from detections.model import Event, Severity, SignIn
from detections.predicates import user_key
from detections.rule import Context, Finding, JsonValue, MatchResult, Rule, RuleTest
from detections.spray import SPRAY_PARAMS, Spray, Victim, recognise, spraying_now
from detections.testing import T0, series
from detections.testing import sign_in as make_sign_in

FAIL: dict[str, Any] = {"success": False, "error_code": 50126}


def match(event: Event, ctx: Context) -> MatchResult:
    accepted = user_sign_in(event, "none") or user_sign_in(event, "interrupt")
    if accepted is not None:
        return _on_success(accepted, ctx)
    failed = user_sign_in(event, "credential")
    if failed is None or not failed.ip_address:
        return None
    spray = recognise(failed, attempt_record(failed), ctx)
    if spray is None or not spray.succeeded:
        return None
    return tuple(_finding(key, victim, spray) for key, victim in sorted(spray.succeeded.items()))


def _on_success(sign_in: SignIn, ctx: Context) -> Finding | None:
    spray = spraying_now(sign_in, ctx)
    if spray is None:
        return None
    key = user_key(sign_in)
    return _finding(key, spray.succeeded[key], spray)


def _finding(key: str, victim: Victim, spray: Spray) -> Finding:
    return Finding(
        title=f"Sprayed password worked for {victim.name} from {victim.ip} (spray against "
        f"{len(spray.failed)} users {spray.source})",
        principal=victim.name,
        about_user=key,
        context={
            "user": victim.name,
            "ip_address": victim.ip,
            "form": spray.form,
            "spray_first_seen": spray.start.isoformat(),
            "spray_last_seen": spray.end.isoformat(),
            "distinct_users": len(spray.failed),
            # Not "users": those would be this user's roles and links (enrich, grouping).
            "sprayed_users": list[JsonValue](sorted(spray.failed)[:MAX_LISTED]),
            "spray_ip_addresses": list[JsonValue](spray.ips[:MAX_LISTED]),
            "successful_users": len(spray.succeeded),
        },
        dedup_values=(key,),
        related_event_ids=(
            *([victim.event_id] if victim.event_id else []),
            *ids(spray.failures, 19),
        ),
    )


def _spray(n: int, prefix: str = "s", **overrides: Any) -> tuple[SignIn, ...]:
    return series(
        n, prefix=prefix, per_user=True, step=timedelta(minutes=1), **{**FAIL, **overrides}
    )


def _bob(minutes: float = 4, **overrides: Any) -> SignIn:
    """Bob's only sign-in from the address, in his own country: the sprayed password works."""
    fields: dict[str, Any] = {
        "id": "bob-ok",
        "time": T0 + timedelta(minutes=minutes),
        "user_id": "u-bob",
        "user_principal_name": "bob@contoso.com",
        **overrides,
    }
    return make_sign_in(**fields)


def _office(n: int) -> tuple[SignIn, ...]:
    return series(n, prefix="ok", per_user=True, step=timedelta(minutes=1))


RULE = Rule(
    uses_history=True,
    id="spray_success",
    version=2,
    title="Password spray success",
    description=(
        "A user's password was accepted (success or MFA interrupt) from an address that "
        "password_spray recognises as spraying, within its window (from any of its addresses "
        "in the distributed form): one alert per user, joining the user's own incident, "
        "whether the success is judged before or after the failures that make the spray. "
        "Sentinel and Elastic leave this to a hunting query joining the spray's IPs to "
        "successes; here it needs no earlier failure of the user, no new country and no "
        "impossible distance."
    ),
    severity=Severity.HIGH,
    risk_score=80,
    mitre=("T1110.003", "T1078.004"),
    kinds=("signIn",),
    dedup_fields=("user_id",),
    dedup_window=timedelta(hours=24),
    investigation=(
        "Reset the user's password and revoke their sessions: the password is known.",
        "Check what the user's sign-in from the spraying address reached (MFA, apps, "
        "mailbox rules, new MFA methods) and the password_spray alert of the address.",
        "Require MFA for the user and block the spraying addresses with a named location.",
    ),
    false_positives=(
        "A user who signs in from a shared address (a hotel, a conference, a carrier NAT) "
        "during a spray from that address; the office-NAT case (more users let in since the "
        "burst began than failed) stays quiet.",
    ),
    references=(
        "https://github.com/Azure/Azure-Sentinel/blob/master/Solutions/Microsoft%20Entra%20ID/"
        "Analytic%20Rules/SigninPasswordSpray.yaml",
        "https://learn.microsoft.com/en-us/security/operations/incident-response-playbook-"
        "password-spray",
    ),
    known_gaps=(
        "Reads password_spray's thresholds (the RISKWATCH_PASSWORD_SPRAY_* settings); a "
        "spray password_spray does not recognise names nobody.",
        "A success older than the spray's window (30 minutes; the slow form's 24 hours) is "
        "not joined to it. The slow form's successes past the six-hour network window are "
        "known by user only (the alert then lists no sign-in id of theirs).",
        "Judged on the failure that completes the spray, the user is named by the UPN they "
        "signed in with last; the alert does not flag the user for the other rules' "
        '"recent alert" (only an alert judged on the user\'s own sign-in does).',
    ),
    params=SPRAY_PARAMS,
    match=match,
    tests=(
        RuleTest(
            name="a password accepted while the address sprays fires",
            before=_spray(10),
            event=_bob(minutes=11),
            expect=True,
            severity=Severity.HIGH,
            dedup=("u-bob",),
        ),
        RuleTest(
            name="the spray recognised after the success fires on its completing failure",
            before=(*_spray(9), _bob()),
            event=_spray(10)[-1],
            expect=True,
            dedup=("u-bob",),
        ),
        RuleTest(
            name="an MFA interrupt means the password was right and fires",
            before=_spray(10),
            event=_bob(minutes=11, success=False, error_code=50074),
            expect=True,
        ),
        RuleTest(
            name="a success from one of a distributed spray's addresses fires",
            before=tuple(
                replace(s, ip_address=f"198.51.100.{i % 3}") for i, s in enumerate(_spray(15, "d"))
            ),
            event=_bob(minutes=15, ip_address="198.51.100.1"),
            expect=True,
            dedup=("u-bob",),
        ),
        RuleTest(
            name="a success from an address that is not spraying does not",
            before=_spray(10),
            event=_bob(minutes=11, ip_address="192.0.2.44"),
            expect=False,
        ),
        RuleTest(
            name="a success from an address with too few failed users does not",
            before=_spray(9),
            event=_bob(minutes=10),
            expect=False,
        ),
        RuleTest(
            name="a success in an office NAT with more successful users does not",
            before=(*_spray(10), *_office(20)),
            event=_bob(minutes=25),
            expect=False,
        ),
        RuleTest(
            name="the spray completed in an office NAT names nobody",
            before=(*_spray(9), *_office(20)),
            event=_spray(10)[-1],
            expect=False,
        ),
        RuleTest(
            name="a success three hours after the spray is outside its window",
            before=_spray(10),
            event=_bob(minutes=190),
            expect=False,
        ),
        RuleTest(
            name="a success an hour before the spray is outside its window",
            before=(_bob(minutes=-60), *_spray(9)),
            event=_spray(10)[-1],
            expect=False,
        ),
        RuleTest(
            name="a failed password of the same user from the spray is no success",
            before=_spray(10),
            event=_bob(minutes=11, success=False, error_code=50126),
            expect=False,
        ),
    ),
)
