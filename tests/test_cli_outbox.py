"""``riskwatch outbox list|retry`` against Azurite and loopback receivers."""

from __future__ import annotations

import json

import pytest

from service.cli.commands import main
from tests.receivers import Receiver, Reply
from tests.test_cli import graph_sign_in, write_lines

pytestmark = pytest.mark.azurite


@pytest.fixture
def receivers(monkeypatch, storage_connection, table_prefix):
    """A webhook that rejects everything (dead letters) and a Teams flow that accepts."""
    with Receiver(Reply(400, b"bad payload")) as webhook, Receiver(Reply(202, b"")) as teams:
        for name, value in {
            "RISKWATCH_STORAGE": storage_connection, "RISKWATCH_TABLE_PREFIX": table_prefix,
            "RISKWATCH_NOTIFY": "alerts",
            "RISKWATCH_WEBHOOK_URL": webhook.url, "RISKWATCH_WEBHOOK_MIN_SEVERITY": "low",
            "RISKWATCH_TEAMS_WEBHOOK_URL": teams.url, "RISKWATCH_TEAMS_MIN_SEVERITY": "low",
        }.items():
            monkeypatch.setenv(name, value)
        yield webhook, teams


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def listed(capsys, *args: str) -> list[dict]:
    code, out, _ = cli(capsys, "outbox", "list", "--json", *args)
    assert code == 0
    return [json.loads(line) for line in out.splitlines()]


@pytest.fixture
def dead_letters(tmp_path, capsys, receivers):
    """One run: two alerts, delivered to Teams, dead-lettered by the webhook."""
    risky = write_lines(tmp_path / "risky.jsonl", [
        graph_sign_in(1, riskLevelDuringSignIn="high", riskState="atRisk")])
    code, _, _ = cli(capsys, "run", "--once", "--input", str(risky),
                     "--now", "2026-11-02T09:05:00Z")
    assert code == 1  # the webhook failed
    dead = listed(capsys, "--status", "dead")
    assert len(dead) == 2 and {d["sink"] for d in dead} == {"webhook"}
    return [d["alert_id"] for d in dead]


def test_list_shows_each_delivery_per_sink(capsys, receivers, dead_letters):
    everything = listed(capsys)
    assert sorted((d["sink"], d["status"]) for d in everything) == [
        ("teams", "delivered"), ("teams", "delivered"), ("webhook", "dead"), ("webhook", "dead")]
    dead = listed(capsys, "--status", "dead")[0]
    assert dead["reason"].startswith("HTTP 400: bad payload")
    assert dead["attempts"] == 1 and dead["first_attempt"].startswith("2026-11-02T09:05")
    assert listed(capsys, "--status", "pending") == []
    code, out, _ = cli(capsys, "outbox", "list", "--status", "dead")
    assert code == 0 and len(out.splitlines()) == 2
    assert all(" webhook  dead " in line and "HTTP 400" in line for line in out.splitlines())


def test_retry_replays_a_dead_letter_once_and_never_what_was_delivered(
    capsys, receivers, dead_letters
):
    webhook, teams = receivers
    webhook.default = Reply(200, b"")  # fixed
    teams_posts = len(teams.requests)
    first = dead_letters[0]
    code, _, err = cli(capsys, "outbox", "retry", first)
    assert code == 0, err
    replays = webhook.requests[2:]
    assert [r.header("Idempotency-Key") for r in replays] == [first]
    assert replays[0].json()["id"] == first
    assert len(teams.requests) == teams_posts  # delivered there already: not sent again
    assert "teams: delivered, not sent again" in err
    statuses = {(d["alert_id"], d["sink"]): d["status"] for d in listed(capsys)}
    assert statuses[(first, "webhook")] == "delivered"
    assert statuses[(dead_letters[1], "webhook")] == "dead"

    code, _, err = cli(capsys, "outbox", "retry", first)  # again: nothing left to replay
    assert code == 0 and "nothing to replay" in err
    assert len(webhook.requests) == 3

    code, _, err = cli(capsys, "outbox", "retry", "--all-dead", "--sink", "teams")
    assert code == 0 and len(webhook.requests) == 3  # teams has no dead letters
    code, _, err = cli(capsys, "outbox", "retry", "--all-dead")
    assert code == 0 and "1 delivered, 0 failed again" in err
    assert [r.header("Idempotency-Key") for r in webhook.requests[2:]] == dead_letters
    assert listed(capsys, "--status", "dead") == []


def test_a_replay_that_fails_again_exits_1_and_stays_visible(capsys, receivers, dead_letters):
    code, _, err = cli(capsys, "outbox", "retry", "--all-dead")
    assert code == 1 and "0 delivered, 2 failed again" in err
    assert "HTTP 400: bad payload" in err
    assert len(listed(capsys, "--status", "dead")) == 2


@pytest.mark.parametrize("args, message", [
    (["no-such-alert"], "no outbox entry for alert 'no-such-alert'"),
    (["--all-dead", "--sink", "pager"], "--sink 'pager' is not configured"),
    ([], "give ALERT_ID... or --all-dead"),
    (["x", "--all-dead"], "give ALERT_ID... or --all-dead"),
])
def test_bad_retry_arguments_exit_2(capsys, receivers, args, message):
    code, _, err = cli(capsys, "outbox", "retry", *args)
    assert code == 2 and message in err
    webhook, teams = receivers
    assert webhook.requests == [] and teams.requests == []


def test_list_escapes_terminal_controls_in_titles_and_reasons(tmp_path, capsys, receivers):
    """A C1 control (CSI) or a bidi override from a record or a receiver never reaches the
    terminal as itself."""
    webhook, _ = receivers
    webhook.default = Reply(400, "bad \x9b31m \u202epayload".encode())
    risky = write_lines(tmp_path / "risky.jsonl", [graph_sign_in(
        1, riskLevelDuringSignIn="high", riskState="atRisk",
        userPrincipalName="eve\u202egro.evil\x9b2J@contoso.com")])
    cli(capsys, "run", "--once", "--input", str(risky), "--now", "2026-11-02T09:05:00Z")
    code, out, _ = cli(capsys, "outbox", "list", "--status", "dead")
    assert code == 0 and out.strip()
    assert "\x9b" not in out and "\u202e" not in out
    assert "\\x9b" in out and "\\u202e" in out
