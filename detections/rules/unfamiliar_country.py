"""A successful sign-in from a country the user has not used in the baseline window.

Only once the user has enough history (default 7 days since the first remembered
sign-in), so a new deployment does not alert on everybody; ``riskwatch baseline``
seeds that history from exported logs. Anonymizer sign-ins are reported by their
own detection and never make a country familiar.
"""

from __future__ import annotations

from datetime import timedelta

from detections.correlation import user_sign_in
from detections.helpers import where, who
from detections.model import Event, Location, Severity
from detections.predicates import is_anonymized, is_interactive, is_risk_flagged, user_key
from detections.rule import Context, Finding, JsonValue, Param, Rule, RuleTest
from detections.testing import T0, sign_in

BRAZIL = Location(city="Sao Paulo", country="BR", latitude=-23.55, longitude=-46.63)
DAY = timedelta(days=1)


def match(event: Event, ctx: Context) -> Finding | None:
    success = user_sign_in(event, "none")
    if success is None or not is_interactive(success) or is_anonymized(success):
        return None
    country = (success.location.country or "").upper()
    user = ctx.history.user(user_key(success))
    if not country or user is None:
        return None
    # A familiar country first: the common case, and no scan of the history's first times.
    baseline = timedelta(days=ctx.int_param("baseline_days"))
    seen = user.countries.get(country)
    if seen is not None and seen.first <= success.time and seen.last >= success.time - baseline:
        return None
    first = user.first_seen
    if first is None or success.time - first < timedelta(days=ctx.int_param("min_history_days")):
        return None  # not enough history to know what is familiar
    known = sorted(user.countries, key=lambda c: user.countries[c].last, reverse=True)
    return Finding(
        title=f"{success.principal} signed in from {country}, new for them",
        severity=Severity.HIGH if is_risk_flagged(success) else None,
        context={
            **who(success),
            **where(success.location, success.ip_address),
            "known_countries": list[JsonValue](known[:10]),
            "history_since": first.isoformat(),
            "last_seen_in_country": seen.last.isoformat() if seen else None,
        },
        dedup_values=(success.principal, country),
    )


HOME = tuple(sign_in(id=f"h{i}", time=T0 - i * DAY) for i in range(1, 11))  # ten days in the US

RULE = Rule(
    uses_history=True,
    id="unfamiliar_country",
    version=1,
    title="Sign-in from a country new for the user",
    description=(
        "A successful interactive sign-in from a country the user has not signed in from "
        "within the baseline window, once the user has enough history."
    ),
    severity=Severity.MEDIUM,
    risk_score=47,
    mitre=("T1078.004",),
    kinds=("signIn",),
    dedup_fields=("principal", "location.country"),
    dedup_window=timedelta(hours=24),
    investigation=(
        "Ask the user whether they travel; check the device and app of the sign-in.",
        "Look for impossible travel and risk detections around the same time.",
    ),
    false_positives=("Business travel and holidays.", "A new VPN egress country."),
    references=(
        "https://github.com/Azure/Azure-Sentinel/blob/master/Solutions/Microsoft%20Entra%20ID/"
        "Analytic%20Rules/AnomalousUserAppSigninLocationIncrease-detection.yaml",
    ),
    known_gaps=(
        "A country's first and last sighting are kept, not every day in between.",
        "Only interactive sign-ins are judged.",
    ),
    params=(
        Param(
            name="baseline_days",
            default=30,
            description="How far back a country counts.",
            minimum=1, maximum=180,
        ),
        Param(
            name="min_history_days",
            default=7,
            description="History needed before alerting.",
            minimum=0, maximum=180,
        ),
    ),
    match=match,
    tests=(
        RuleTest(
            name="new country after ten days of history fires",
            before=HOME,
            event=sign_in(id="br", location=BRAZIL),
            expect=True,
            severity=Severity.MEDIUM,
            dedup=("alice@contoso.com", "BR"),
        ),
        RuleTest(
            name="home country does not",
            before=HOME,
            event=sign_in(id="us"),
            expect=False,
        ),
        RuleTest(
            name="new user without history does not",
            before=HOME[:2],
            event=sign_in(id="br", location=BRAZIL),
            expect=False,
        ),
        RuleTest(
            name="country used last week does not",
            before=(*HOME, sign_in(id="br0", time=T0 - 7 * DAY, location=BRAZIL)),
            event=sign_in(id="br", location=BRAZIL),
            expect=False,
        ),
        RuleTest(
            name="anonymizer is its own detection",
            before=HOME,
            event=sign_in(id="br", location=BRAZIL, risk_event_types=("anonymizedIPAddress",)),
            expect=False,
        ),
        RuleTest(
            name="failed sign-in from a new country does not",
            before=HOME,
            event=sign_in(id="br", location=BRAZIL, success=False, error_code=50126),
            expect=False,
        ),
    ),
)
