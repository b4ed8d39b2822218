"""The deployed pipeline with RISKWATCH_NOTIFY=incidents, against Azurite and a loopback
receiver: one notification per incident revision, exactly once, through crashes and
eight parallel workers."""

from __future__ import annotations

import io
import threading
from dataclasses import replace
from datetime import timedelta

import pytest

from detections.model import Device, Event, Location, RiskyUser, Severity
from detections.testing import T0, risk_detection, risky_user, sign_in
from service.delivery.console import ConsoleSink
from service.delivery.webhook import WebhookSink
from service.run.pipeline import Pipeline, RunReport
from service.state.incidents import INCIDENT_SCHEMA, IncidentStore
from service.state.outbox import Outbox
from tests.support_sinks import Receiver, make_tables, receiver

pytestmark = pytest.mark.azurite
NOW = T0 + timedelta(hours=1)
NEW_YORK = Location(city="New York", country="US", latitude=40.71, longitude=-74.01)
PHONE = Device(device_id="dev-phone", os="iOS 18", browser="Safari")
FOUR_RULES = ["high_risk_signin_succeeded", "risk_level_passthrough", "signin_risk_detection",
              "user_risk_detection"]


class InjectedCrash(BaseException):
    """Not an Exception: nothing in the pipeline may swallow it."""


def crash_at(point: str):
    def hook(reached: str) -> None:
        if reached == point:
            raise InjectedCrash(point)
    return hook


def risky_success(user: str = "alice", at: timedelta = timedelta(0)) -> list[Event]:
    """One high-risk sign-in nobody challenged, its detection and the user's risk: the
    four alerts of issue 14."""
    who = {"user_principal_name": f"{user}@contoso.com", "user_id": f"u-{user}"}
    return [
        sign_in(id=f"risky-{user}", time=T0 + at, **who, risk_level_during_sign_in="high",
                risk_level_aggregated="high", risk_state="atRisk", risk_detail="none",
                authentication_requirement="singleFactorAuthentication"),
        risk_detection(id=f"det-{user}", time=T0 + at, **who, risk_level="high"),
        risky_user(id=f"u-{user}", time=T0 + at + timedelta(minutes=10),
                   user_principal_name=f"{user}@contoso.com"),
    ]


def carrier_hop(user: str = "alice") -> list[Event]:
    """Two cities of one country half an hour apart: impossible travel, verdict low."""
    who = {"user_principal_name": f"{user}@contoso.com", "user_id": f"u-{user}"}
    return [sign_in(id=f"home-{user}", time=T0 - timedelta(hours=3), **who),
            sign_in(id=f"away-{user}", time=T0 - timedelta(hours=2, minutes=30), **who,
                    location=NEW_YORK, device=PHONE)]


def pipeline(connection: str, prefix: str, url: str, **options) -> Pipeline:
    sink = WebhookSink(url, min_severity=Severity.LOW)
    return Pipeline(make_tables(connection, prefix), [sink], notify="incidents", **options)


def incident_posts(rx: Receiver) -> list[dict]:
    return [body for body in rx.bodies() if body.get("schema") == INCIDENT_SCHEMA]


def test_the_four_alerts_of_one_risky_sign_in_are_one_incident_and_one_notification(
    storage_connection, table_prefix
):
    with receiver() as rx:
        report = pipeline(storage_connection, table_prefix, rx.url).process(risky_success(), NOW)
    assert report.alerts_raised == 4
    assert (len(report.incidents), report.notifications, report.delivered) == (1, 1, 1)
    (body,) = rx.bodies()
    assert body["schema"] == INCIDENT_SCHEMA and "sent_at" in body
    incident = body["incident"]
    assert incident["rules"] == FOUR_RULES
    assert (incident["principal"], incident["verdict"], incident["revision"]) == (
        "alice@contoso.com", "high", 1)
    assert body["id"] == f"{incident['incident_id']}:1"
    assert rx.keys() == {body["id"]: 1}  # the Idempotency-Key is the id
    assert incident["timeline"] and incident["breakdown"]["signins"]["success"] == 1
    assert any(link["url"].endswith("u-alice") for link in body["links"])


def test_a_second_run_over_the_same_input_sends_nothing(storage_connection, table_prefix):
    with receiver() as rx:
        pipeline(storage_connection, table_prefix, rx.url).process(risky_success(), NOW)
        again = pipeline(storage_connection, table_prefix, rx.url).process(risky_success(), NOW)
        assert (again.alerts_raised, again.notifications, again.delivered) == (0, 0, 0)
        assert len(rx.bodies()) == 1


def test_a_verdict_rise_sends_revision_two_once(storage_connection, table_prefix):
    with receiver() as rx:
        first = pipeline(storage_connection, table_prefix, rx.url).process(carrier_hop(), NOW)
        risky = risky_success(at=timedelta(minutes=-30))
        second = pipeline(storage_connection, table_prefix, rx.url).process(risky, NOW)
        repeat = pipeline(storage_connection, table_prefix, rx.url).process(risky, NOW)
        posts = incident_posts(rx)
    assert (first.notifications, second.notifications, repeat.notifications) == (1, 1, 0)
    opened, risen = (p["incident"] for p in posts)
    assert opened["incident_id"] == risen["incident_id"]
    assert (opened["revision"], opened["verdict"]) == (1, "low")
    assert (risen["revision"], risen["verdict"]) == (2, "high")
    assert rx.keys() == {f"{opened['incident_id']}:1": 1, f"{opened['incident_id']}:2": 1}


def test_more_of_the_same_updates_the_incident_silently(storage_connection, table_prefix):
    events = risky_success()
    with receiver() as rx:
        pipeline(storage_connection, table_prefix, rx.url).process(events[:2], NOW)
        # The same detection again, later: its alert's count grows, nothing new joins.
        repeat = risk_detection(id="det-alice-2", time=T0 + timedelta(minutes=5),
                                user_id="u-alice", user_principal_name="alice@contoso.com",
                                risk_level="high")
        later = pipeline(storage_connection, table_prefix, rx.url).process([repeat], NOW)
        assert later.alerts_raised == 0 and later.notifications == 0
        assert len(incident_posts(rx)) == 1
    stored = IncidentStore(make_tables(storage_connection, table_prefix)).get(
        "user", "alice@contoso.com")
    assert stored is not None and stored.incident.revision == 1
    assert sum(a.count for a in stored.incident.alerts) > len(stored.incident.alerts)


def test_a_crash_after_the_incident_row_and_before_the_outbox_recovers(
    storage_connection, table_prefix
):
    tables = make_tables(storage_connection, table_prefix)
    with receiver() as rx:
        crashing = pipeline(storage_connection, table_prefix, rx.url,
                            hook=crash_at("after_incident"))
        with pytest.raises(InjectedCrash):
            crashing.process(risky_success(), NOW)
        stored = IncidentStore(tables).get("user", "alice@contoso.com")
        assert stored is not None and not stored.outboxed
        assert Outbox(tables, []).all_rows() == []  # the crash came before the notification
        rerun = pipeline(storage_connection, table_prefix, rx.url).process(risky_success(), NOW)
        again = pipeline(storage_connection, table_prefix, rx.url).process(risky_success(), NOW)
    assert rerun.delivered == 1 and again.delivered == 0
    assert rx.keys() == {f"{stored.incident.incident_id}:1": 1}
    (body,) = rx.bodies()
    assert body["incident"]["rules"] == FOUR_RULES
    assert IncidentStore(tables).get("user", "alice@contoso.com").outboxed  # type: ignore[union-attr]


@pytest.mark.parametrize("point", ["after_claim", "after_incident_outbox"])
def test_a_crash_at_the_other_steps_loses_no_revision(point, storage_connection, table_prefix):
    with receiver() as rx:
        with pytest.raises(InjectedCrash):
            pipeline(storage_connection, table_prefix, rx.url, hook=crash_at(point)).process(
                risky_success(), NOW)
        pipeline(storage_connection, table_prefix, rx.url).process(risky_success(), NOW)
        pipeline(storage_connection, table_prefix, rx.url).deliver(NOW)
    # A crash between claims may split the alerts over two joins (two revisions): each
    # revision is told once, and the last one holds every alert.
    bodies = rx.bodies()
    assert [b["incident"]["revision"] for b in bodies] == list(range(1, len(bodies) + 1))
    assert bodies[-1]["incident"]["rules"] == FOUR_RULES
    assert set(rx.keys().values()) == {1}


def overlapping_input() -> list[Event]:
    """Three users, each with a low incident that later turns high (revision 2)."""
    events: list[Event] = []
    for user in ("alice", "bob", "carol"):
        events += [*carrier_hop(user), *risky_success(user, at=timedelta(minutes=-30))]
    return events


def run_workers(workers: int, connection: str, prefix: str, url: str) -> list[RunReport]:
    events = overlapping_input()
    size = len(events) * 3 // 5  # worker w reads 60% of the events from its own offset
    slices = [[events[(w * len(events) // workers + j) % len(events)] for j in range(size)]
              for w in range(workers)]
    barrier = threading.Barrier(workers)
    reports: list[RunReport] = []
    errors: list[BaseException] = []

    def work(batch: list[Event]) -> None:
        pipe = pipeline(connection, prefix, url)
        barrier.wait()
        try:
            reports.append(pipe.process(sorted(batch, key=lambda e: e.time), NOW))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in slices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return reports


def test_eight_parallel_workers_send_each_revision_exactly_once(storage_connection, table_prefix):
    tables = make_tables(storage_connection, table_prefix)
    with receiver() as rx:
        run_workers(8, storage_connection, table_prefix, rx.url)
        pipeline(storage_connection, table_prefix, rx.url).process(overlapping_input(), NOW)
        pipeline(storage_connection, table_prefix, rx.url).deliver(NOW + timedelta(hours=1))
        posted = rx.keys()
    rows = list(tables.table("incidents").list_entities())
    assert len(rows) == 3 and all(row["outboxed"] for row in rows)
    expected = {f"{row['incident_id']}:{n}" for row in rows for n in range(1, row["revision"] + 1)}
    assert set(posted) == expected  # every revision, none lost
    assert set(posted.values()) == {1}  # none twice
    assert all(row["revision"] >= 2 and row["verdict"] == "high" for row in rows)
    claims = list(tables.table("dedup").query_entities("kind eq 'claim'"))
    assert claims and all(c["outboxed"] for c in claims)


def test_notify_alerts_keeps_one_message_per_alert(storage_connection, table_prefix):
    with receiver() as rx:
        sink = WebhookSink(rx.url, min_severity=Severity.LOW)
        report = Pipeline(make_tables(storage_connection, table_prefix), [sink],
                          notify="alerts").process(risky_success(), NOW)
    assert report.delivered == report.alerts_raised == 4 and report.notifications == 0
    assert {b["schema"] for b in rx.bodies()} == {"riskwatch.alert.v1"}


def test_the_console_prints_one_line_per_incident_with_verdict_principal_and_reason(
    storage_connection, table_prefix
):
    out = io.StringIO()
    events = [*risky_success(), *risky_success("bob\x1b[2J\x9b31m\u202e")]  # hostile name
    report = Pipeline(make_tables(storage_connection, table_prefix), [ConsoleSink(out)],
                      notify="incidents").process(events, NOW)
    lines = out.getvalue().splitlines()
    assert report.alerts_raised == 8 and len(lines) == report.notifications == 2
    alice = next(line for line in lines if "alice@contoso.com" in line)
    assert alice.startswith("[HIGH  ] incident alice@contoso.com (revision 1, 4 alerts): ")
    assert "Identity Protection risk" in alice
    assert not any(c in line for line in lines for c in "\x1b\x9b\u202e")


@pytest.mark.parametrize("state", ["dismissed", "remediated", "confirmedSafe"])
def test_closed_risk_closes_the_incident_and_a_later_alert_opens_a_new_one(
    state, storage_connection, table_prefix
):
    tables = make_tables(storage_connection, table_prefix)
    with receiver() as rx:
        job = pipeline(storage_connection, table_prefix, rx.url)
        job.process(risky_success(), NOW)
        closing = risky_user(id="u-alice", time=T0 + timedelta(minutes=30),
                             user_principal_name="alice@contoso.com", risk_state=state,
                             risk_level="none")
        job.process([closing], NOW + timedelta(minutes=30))
        stored = IncidentStore(tables).get("user", "alice@contoso.com")
        assert stored is not None and stored.incident.closed == "risk closed"
        again = [e if isinstance(e, RiskyUser) else replace(e, id=f"{e.id}-again")
                 for e in risky_success(at=timedelta(hours=2))]  # a new risky sign-in
        later = job.process(again, NOW + timedelta(hours=2))
    first, second = (b["incident"]["incident_id"] for b in incident_posts(rx))
    assert first != second and later.notifications == 1
    reopened = IncidentStore(tables).get("user", "alice@contoso.com")
    assert reopened is not None and reopened.incident.incident_id == second
    assert reopened.incident.closed is None


def test_a_repeat_of_an_alert_the_closed_incident_holds_does_not_reopen_it(
    storage_connection, table_prefix
):
    """The same detection again while its alert's claim is open is more of the same: it stays
    with the closed incident (as in scan), never a "new" incident with the old id and
    revision 1 whose notification the outbox would drop as a duplicate."""
    from detections.testing import risk_detection

    tables = make_tables(storage_connection, table_prefix)
    who = {"user_principal_name": "alice@contoso.com", "user_id": "u-alice"}
    with receiver() as rx:
        job = pipeline(storage_connection, table_prefix, rx.url)
        job.process([risk_detection(id="rd-1", correlation_id="c1", time=T0, **who)], NOW)
        job.process([risky_user(id="u-alice", time=T0 + timedelta(minutes=30),
                                risk_state="dismissed", risk_level="none",
                                user_principal_name="alice@contoso.com")], NOW)
        repeat = job.process([risk_detection(id="rd-2", correlation_id="c1",
                                             time=T0 + timedelta(hours=2), **who)], NOW)
        stored = IncidentStore(tables).get("user", "alice@contoso.com")
        assert repeat.notifications == 0
        assert stored is not None and stored.incident.closed == "risk closed"
        other = job.process([risk_detection(id="rd-3", correlation_id="c2",
                                            time=T0 + timedelta(hours=3), **who)], NOW)
    posts = incident_posts(rx)
    assert other.notifications == 1 and len(posts) == 2  # a new alert: a new incident, sent
    assert posts[0]["incident"]["incident_id"] != posts[1]["incident"]["incident_id"]


def test_an_open_risk_state_leaves_the_incident_open(storage_connection, table_prefix):
    tables = make_tables(storage_connection, table_prefix)
    with receiver() as rx:
        job = pipeline(storage_connection, table_prefix, rx.url)
        job.process(risky_success(), NOW)
        job.process([risky_user(id="u-alice", time=T0 + timedelta(minutes=30),
                                user_principal_name="alice@contoso.com")], NOW)
    stored = IncidentStore(tables).get("user", "alice@contoso.com")
    assert stored is not None and stored.incident.closed is None
