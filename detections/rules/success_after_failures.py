"""A successful sign-in right after a burst of credential failures: the password is
probably known (Sentinel's brute force followed by success, default 5 in 20 min).

Order-tolerant: when the failures arrive after the success was judged (a late
export, a later run), the last failure that completes the burst raises it.
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
from detections.windows import between, with_event

FAIL: dict[str, Any] = {"success": False, "error_code": 50126}


def match(event: Event, ctx: Context) -> Finding | None:
    success = user_sign_in(event, "none")
    if success is not None:
        if not is_interactive(success):
            return None  # a success is no credential failure either
        user = ctx.history.user(user_key(success))
        kept = user.failures if user else []
        needed = ctx.int_param("min_failures")
        if not kept and needed > 0:
            return None  # no failure at all (most users, most of the time): no burst
        span = timedelta(minutes=ctx.int_param("window_minutes"))
        burst = between(of_class(kept, "credential"), success.time - span, success.time)
        return _finding(success, burst) if len(burst) >= needed else None
    failure = user_sign_in(event, "credential")
    if failure is None:
        return None
    span = timedelta(minutes=ctx.int_param("window_minutes"))
    needed = ctx.int_param("min_failures")
    user = ctx.history.user(user_key(failure))
    if user is None:
        return None
    failures = with_event(of_class(user.failures, "credential"), attempt_record(failure))
    for later in between(user.successes, failure.time, failure.time + span):
        burst = between(failures, later.time - span, later.time)
        if len(burst) >= needed and later.time > failure.time:
            return _finding(failure, burst, later.event_id)
    return None


def _finding(event: SignIn, burst: list[Attempt], success_id: str | None = None) -> Finding:
    return Finding(
        title=f"{event.principal} signed in after {len(burst)} failed passwords",
        context={
            **who(event),
            **where(event.location, event.ip_address),
            **summary(burst),
            "success_event_id": success_id or event.id,
        },
        related_event_ids=(*ids(burst), *((success_id,) if success_id else ())),
    )


RULE = Rule(
    uses_history=True,
    id="success_after_failures",
    version=1,
    title="Successful sign-in after repeated failed passwords",
    description=(
        "A user signed in successfully after a burst of credential failures: the password "
        "was probably guessed or is known to whoever failed first."
    ),
    severity=Severity.HIGH,
    risk_score=73,
    mitre=("T1110.001", "T1078.004"),
    kinds=("signIn",),
    dedup_fields=("principal",),
    dedup_window=timedelta(hours=1),
    investigation=(
        "Compare the IPs, devices and countries of the failures with the success.",
        "Ask the user whether they mistyped their password; if not, reset it and revoke sessions.",
    ),
    false_positives=("A user who forgot their password and finally got it right.",),
    references=(
        "https://github.com/Azure/Azure-Sentinel/blob/master/Solutions/Microsoft%20Entra%20ID/"
        "Analytic%20Rules/SigninBruteForce-AzurePortal.yaml",
    ),
    params=(
        Param(
            name="min_failures",
            default=5,
            description="Credential failures before success.",
            minimum=1, maximum=100,
        ),
        Param(
            name="window_minutes",
            default=20,
            description="How long before the success.",
            minimum=1, maximum=360,
        ),
    ),
    match=match,
    tests=(
        RuleTest(
            name="success after five failures fires",
            before=series(5, prefix="f", **FAIL),
            event=make_sign_in(id="ok", time=series(6, prefix="x")[-1].time),
            expect=True,
            severity=Severity.HIGH,
            dedup=("alice@contoso.com",),
        ),
        RuleTest(
            name="four failures do not",
            before=series(4, prefix="f", **FAIL),
            event=make_sign_in(id="ok", time=series(6, prefix="x")[-1].time),
            expect=False,
        ),
        RuleTest(
            name="MFA interrupts before success do not",
            before=series(8, prefix="i", success=False, error_code=50074),
            event=make_sign_in(id="ok", time=series(9, prefix="x")[-1].time),
            expect=False,
        ),
        RuleTest(
            name="failures an hour earlier do not",
            before=series(6, prefix="f", **FAIL),
            event=make_sign_in(id="ok", time=series(1, prefix="x")[0].time + timedelta(hours=1)),
            expect=False,
        ),
        RuleTest(
            name="late failure completing the burst fires",
            before=(
                *series(4, prefix="f", **FAIL),
                make_sign_in(id="ok", time=series(9, prefix="x")[-1].time),
            ),
            event=series(5, prefix="f", **FAIL)[-1],
            expect=True,
        ),
    ),
)
