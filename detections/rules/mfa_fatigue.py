"""MFA fatigue: repeated MFA denials (500121) for one user, high when a success follows.

Sentinel's reference rule wants > 10 denials and a success within 5 minutes;
here 5 denials in 10 minutes alert at medium, and a success after them (or a late
denial completing a burst before a success) raises it to high.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from detections.correlation import ids, of_class, summary, user_sign_in
from detections.correlation_history import attempt_record
from detections.helpers import where, who
from detections.history_records import Attempt
from detections.model import Event, Severity, SignIn
from detections.predicates import is_interactive, user_key
from detections.rule import Context, Finding, Param, Rule, RuleTest
from detections.testing import series
from detections.testing import sign_in as make_sign_in
from detections.windows import between, busiest, with_event

DENY: dict[str, Any] = {"success": False, "error_code": 500121}


def match(event: Event, ctx: Context) -> Finding | None:
    success = user_sign_in(event, "none")
    if success is not None:
        if not is_interactive(success):
            return None
        user = ctx.history.user(user_key(success))
        failures = user.failures if user else []
        needed = ctx.int_param("min_denials")
        if not failures and needed > 0:
            return None  # no failure at all (most users, most of the time): no denials
        span = timedelta(minutes=ctx.int_param("window_minutes"))
        denials = between(of_class(failures, "mfa"), success.time - span, success.time)
        return _finding(success, denials, success.id) if len(denials) >= needed else None
    denial = user_sign_in(event, "mfa")
    if denial is None:
        return None
    span = timedelta(minutes=ctx.int_param("window_minutes"))
    needed = ctx.int_param("min_denials")
    user = ctx.history.user(user_key(denial))
    window = with_event(of_class(user.failures if user else [], "mfa"), attempt_record(denial))
    burst = busiest(window, denial.time, span)
    if len(burst) < needed:
        return None
    followed = [
        s for s in (user.successes if user else []) if denial.time < s.time <= burst[-1].time + span
    ]
    return _finding(denial, burst, followed[0].event_id if followed else None)


def _finding(event: SignIn, denials: list[Attempt], success_id: str | None) -> Finding:
    tail = " and then signed in" if success_id else ""
    return Finding(
        title=f"{len(denials)} MFA prompts denied for {event.principal}{tail}",
        severity=Severity.HIGH if success_id else None,
        context={
            **who(event),
            **where(event.location, event.ip_address),
            **summary(denials),
            "success_followed": success_id is not None,
            "success_event_id": success_id,
        },
        related_event_ids=(*ids(denials), *((success_id,) if success_id else ())),
    )


RULE = Rule(
    uses_history=True,
    id="mfa_fatigue",
    version=1,
    title="MFA fatigue (repeated MFA denials)",
    description=(
        "Repeated MFA failures (500121: denied, not answered, fraud reported) for one user in "
        "a short window: somebody with the password is pushing prompts. High when a successful "
        "sign-in follows."
    ),
    severity=Severity.MEDIUM,
    risk_score=60,
    mitre=("T1621",),
    kinds=("signIn",),
    dedup_fields=("principal",),
    dedup_window=timedelta(hours=1),
    investigation=(
        "The password is known: if the user did not cause the prompts, reset it and revoke "
        "sessions.",
        "Check whether the user reported fraud in the Authenticator app.",
        "Move the user to number matching or phishing-resistant MFA.",
    ),
    false_positives=("A user with a broken Authenticator app or no signal, retrying.",),
    references=(
        "https://github.com/Azure/Azure-Sentinel/blob/master/Solutions/Microsoft%20Entra%20ID/"
        "Analytic%20Rules/MFASpammingfollowedbySuccessfullogin.yaml",
    ),
    params=(
        Param(
            name="min_denials",
            default=5,
            description="MFA failures (500121) that alert.",
            minimum=2, maximum=100,
        ),
        Param(
            name="window_minutes",
            default=10,
            description="Window the denials fall in.",
            minimum=1, maximum=360,
        ),
    ),
    match=match,
    tests=(
        RuleTest(
            name="five denials fire",
            before=series(4, prefix="m", **DENY),
            event=series(5, prefix="m", **DENY)[-1],
            expect=True,
            severity=Severity.MEDIUM,
            dedup=("alice@contoso.com",),
        ),
        RuleTest(
            name="success after denials is high",
            before=series(6, prefix="m", **DENY),
            event=make_sign_in(id="ok", time=series(8, prefix="x")[-1].time),
            expect=True,
            severity=Severity.HIGH,
        ),
        RuleTest(
            name="four denials do not",
            before=series(3, prefix="m", **DENY),
            event=series(4, prefix="m", **DENY)[-1],
            expect=False,
        ),
        RuleTest(
            name="MFA-required interrupts are not denials",
            before=series(10, prefix="i", success=False, error_code=50076),
            event=series(11, prefix="i", success=False, error_code=50074)[-1],
            expect=False,
        ),
    ),
)
