"""Probing disabled accounts: one IP trying the passwords of several disabled accounts.

Error 50057 says the account is disabled, so the password reached an account nobody
should use: leavers' accounts from a leaked list. Sentinel ("Sign-ins from IPs that
attempt sign-ins to disabled accounts") reports such IPs only when they also signed in
successfully; Riskwatch alerts without that at medium and at high when the same IP also
signs in successfully (a documented divergence: the probing alone is worth a look).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from detections.correlation import ids, summary
from detections.correlation_history import attempt_record
from detections.failures import classify
from detections.history_records import Attempt
from detections.model import Event, Severity, SignIn
from detections.predicates import is_user_sign_in, user_key
from detections.rule import Context, Finding, JsonValue, Param, Rule, RuleTest
from detections.testing import T0, series, sign_in
from detections.windows import between, with_event

DISABLED = 50057


def _probes(ctx: Context, event: SignIn) -> list[Attempt]:
    state = ctx.history.ip(event.ip_address)
    kept = state.failures if state else []
    probing = event.error_code == DISABLED
    if not kept and not probing:
        return []  # no failure from this address at all: the common case
    span = timedelta(minutes=ctx.int_param("window_minutes"))
    if not probing:
        # The window first (a binary search), then its probes: the same entries as the
        # other way round, without a pass over every failure an address keeps.
        return [a for a in between(kept, event.time - span, event.time) if a.code == DISABLED]
    probes = with_event([a for a in kept if a.code == DISABLED], attempt_record(event))
    return between(probes, event.time - span, event.time)


def match(event: Event, ctx: Context) -> Finding | None:
    if not isinstance(event, SignIn) or not is_user_sign_in(event) or not event.ip_address:
        return None
    outcome = classify(event)
    if event.error_code != DISABLED and outcome != "none":
        return None
    probes = _probes(ctx, event)
    accounts = {a.user for a in probes}
    if len(accounts) < ctx.int_param("min_accounts"):
        return None
    state = ctx.history.ip(event.ip_address)
    span = timedelta(minutes=ctx.int_param("window_minutes"))
    window = between(state.successes if state else [], event.time - span, event.time)
    # The success window holds interrupts too (the password was right): only successes.
    ok = {a.user for a in window if a.code == 0} - accounts
    if outcome == "none":
        ok.add(user_key(event))
    info = summary(probes)
    return Finding(
        title=f"{event.ip_address} tried {len(accounts)} disabled accounts"
        + (f" and signed in to {len(ok)} others" if ok else ""),
        severity=Severity.HIGH if ok else None,
        principal=f"{len(accounts)} disabled accounts",
        context={**info, "successful_users": list[JsonValue](sorted(ok)[:25]),
                 "ip_address": event.ip_address},
        dedup_values=(event.ip_address,),
        related_event_ids=ids(probes),
    )


def _probe(n: int, prefix: str = "d", **overrides: Any) -> tuple[SignIn, ...]:
    fields: dict[str, Any] = {"success": False, "error_code": DISABLED,
                              "ip_address": "198.51.100.7", **overrides}
    return series(n, prefix=prefix, per_user=True, step=timedelta(minutes=5), **fields)


RULE = Rule(
    uses_history=True,
    id="disabled_account_probing",
    version=1,
    title="Sign-ins probing disabled accounts",
    description=(
        "One IP address failing with error 50057 (account disabled) against several disabled "
        "accounts within an hour; high when the same IP also signs in successfully."
    ),
    severity=Severity.MEDIUM,
    risk_score=50,
    mitre=("T1110.003", "T1078.004"),
    kinds=("signIn",),
    dedup_fields=("ip_address",),
    dedup_window=timedelta(hours=2),
    investigation=(
        "Which accounts did the IP sign in to successfully? Treat those as compromised until "
        "the users confirm the sign-ins.",
        "The disabled accounts' passwords were known: check where (a leaked list, a reused "
        "password) and reset any active account sharing them.",
        "Block the IP with a named location.",
    ),
    false_positives=(
        "A shared device or kiosk on which leavers' saved accounts still try to sign in.",
        "A sync or HR tool testing accounts after offboarding.",
    ),
    references=(
        "https://github.com/Azure/Azure-Sentinel/blob/master/Solutions/Microsoft%20Entra%20ID/"
        "Analytic%20Rules/SigninAttemptsByIPviaDisabledAccounts.yaml",
    ),
    known_gaps=(
        "Divergence from Sentinel: it alerts without a successful sign-in from the IP "
        "(medium); a success makes it high.",
        "Successes of the IP are known only within the history retention (6 hours).",
        "Within the dedup window a later success does not raise the open alert to high.",
    ),
    params=(
        Param(name="min_accounts", default=3,
              description="Distinct disabled accounts from one IP.", minimum=2, maximum=1000),
        Param(name="window_minutes", default=60,
              description="Window of the probes.", minimum=5, maximum=360),
    ),
    match=match,
    tests=(
        RuleTest(name="three disabled accounts from one IP fire at medium",
                 before=_probe(2), event=_probe(3)[-1], expect=True, severity=Severity.MEDIUM,
                 dedup=("198.51.100.7",)),
        RuleTest(name="two do not", before=_probe(1), event=_probe(2)[-1], expect=False),
        RuleTest(name="one account tried three times does not",
                 before=tuple(sign_in(id=f"same{i}", time=T0 - timedelta(minutes=i),
                                      success=False, error_code=DISABLED,
                                      ip_address="198.51.100.7") for i in range(1, 3)),
                 event=sign_in(id="same0", success=False, error_code=DISABLED,
                               ip_address="198.51.100.7"),
                 expect=False),
        RuleTest(name="spread over more than an hour does not",
                 before=tuple(sign_in(id=f"slow{i}", time=T0 - timedelta(hours=i),
                                      user_id=f"u-{i}", success=False, error_code=DISABLED,
                                      ip_address="198.51.100.7") for i in range(1, 3)),
                 event=sign_in(id="slow0", success=False, error_code=DISABLED,
                               ip_address="198.51.100.7"),
                 expect=False),
        RuleTest(name="a success from the probing IP is high",
                 before=_probe(3),
                 event=sign_in(id="win", time=T0 + timedelta(minutes=20), user_id="u-bob",
                               user_principal_name="bob@contoso.com", ip_address="198.51.100.7"),
                 expect=True, severity=Severity.HIGH),
        RuleTest(name="probes after a success of another user there are high",
                 before=(sign_in(id="ok", time=T0 - timedelta(minutes=1), user_id="u-bob",
                                 ip_address="198.51.100.7"), *_probe(2)),
                 event=_probe(3)[-1], expect=True, severity=Severity.HIGH),
        RuleTest(name="wrong passwords (50126) are spray, not this",
                 before=_probe(2, error_code=50126), event=_probe(3, error_code=50126)[-1],
                 expect=False),
    ),
)
