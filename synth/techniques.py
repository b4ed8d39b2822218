"""Issue 20's sign-in techniques and their benign look-alikes, one example of each."""

from __future__ import annotations

from synth.kit import SPRAY_UA, Kit
from synth.tenant import APPS, ARM, GRAPH, HOUR, MINUTE, App

BROKER = App("Microsoft Authentication Broker", "29d9ed98-a469-4536-ade2-f981bc1d605e", *GRAPH,
             APPS)  # fmt: skip
VSCODE = App("Visual Studio Code", "aebc6443-996d-45c2-90f0-388ff96faa56", *GRAPH, APPS)
EXCHANGE_SMTP = App("Office 365 Exchange Online", "00000002-0000-0ff1-ce00-000000000000",
                    "Office 365 Exchange Online", "00000002-0000-0ff1-ce00-000000000000",
                    "Authenticated SMTP")  # fmt: skip
ROOMS = App("Microsoft Teams Rooms", "a4e2c3f1-6b7d-4c0e-9f3a-2d5b8e1c7a90", *ARM, APPS)
DEVICE_CODE = {"authenticationProtocol": "deviceCode"}


def technique_stories(k: Kit) -> None:
    day = k.days - 4
    # Device code phish: the victim types the attacker's code; the broker gets the tokens.
    u = k.victim()
    t = k.at(day, 10.0 - u.utc_offset_h)
    proxy = k.proxy()
    ids = [k.signin(k.by_attacker(u, t, proxy, proxy.address(k.rng), app=BROKER,
                                  interactive=False, extra=DEVICE_CODE))]  # fmt: skip
    k.label("device_code_phishing", "device_code_phishing", alert=True, users=[u.upn], time=t,
            window=(t, t + HOUR), event_ids=ids,
            description="a device code grant to the Microsoft Authentication Broker from a "
            "hosting network")  # fmt: skip

    # First-party client phish: Visual Studio Code gets a Graph token the user never asked for.
    u = k.victim()
    t = k.at(day, 14.0 - u.utc_offset_h)
    proxy = k.proxy()
    ids = [k.signin(k.by_attacker(u, t, proxy, proxy.address(k.rng), app=VSCODE,
                                  interactive=False))]  # fmt: skip
    k.label("first_party_client_phishing", "first_party_client_phishing", alert=True,
            users=[u.upn], time=t, window=(t, t + HOUR), event_ids=ids,
            description="a first Visual Studio Code token for Microsoft Graph, from a hosting "
            "network")  # fmt: skip

    # Legacy authentication: SMTP AUTH with a stolen password (BAV2ROPC), single factor.
    u = k.victim()
    t = k.at(day + 1, 3.0)
    proxy = k.proxy()
    ids = [k.signin(k.by_attacker(u, t, proxy, proxy.address(k.rng), app=EXCHANGE_SMTP,
                                  user_agent="BAV2ROPC", interactive=False))]  # fmt: skip
    k.label("legacy_auth_no_mfa", "legacy_auth_no_mfa", alert=True, users=[u.upn], time=t,
            window=(t, t + HOUR), event_ids=ids,
            description="SMTP AUTH (BAV2ROPC) with a password alone, from a hosting network")

    # Probing disabled accounts: four leavers' accounts from one address in 30 minutes.
    crowd = k.crowd(4)
    t = k.at(day + 1, 6.0)
    proxy = k.proxy()
    ip = proxy.address(k.rng)
    ids = [k.signin(k.by_attacker(v, t + i * 8 * MINUTE, proxy, ip, error=50057,
                                  user_agent=SPRAY_UA)) for i, v in enumerate(crowd)]  # fmt: skip
    k.label("disabled_account_probing", "disabled_account_probing", alert=True,
            users=[v.upn for v in crowd], time=t + 16 * MINUTE, window=(t, t + HOUR),
            event_ids=ids, description=f"{ip}: 50057 against 4 disabled accounts in 24 minutes")

    # Low and slow spray: 22 users, one an hour, from one address.
    crowd = k.crowd(22)
    t = k.at(day - 2, 0.5)
    proxy = k.proxy()
    ip = proxy.address(k.rng)
    ids = [k.signin(k.by_attacker(v, t + i * HOUR, proxy, ip, error=50126, user_agent=SPRAY_UA))
           for i, v in enumerate(crowd)]  # fmt: skip
    k.label("password_spray_slow", "password_spray", alert=True, users=[v.upn for v in crowd],
            time=t + 19 * HOUR, window=(t, t + 24 * HOUR), event_ids=ids,
            description=f"{ip}: one 50126 an hour against 22 users (low and slow)")

    # A spray's quiet success (issue 18): eleven users fail from one address and the sprayed
    # password works for one more, in his own city, his only attempt from it, hours after
    # his last sign-in: no failure of his, no new country, no distance. Only the spray knows.
    u = k.victim()
    crowd = k.crowd(11)
    t = k.at(k.days - 5, 11.0)
    k.reserve(u, t - 5 * HOUR, t + 2 * HOUR)
    proxy = k.proxy()
    ip = proxy.address(k.rng)
    ids = [k.signin(k.by_attacker(v, t + i * 100, proxy, ip, error=50126, user_agent=SPRAY_UA))
           for i, v in enumerate(crowd)]  # fmt: skip
    worked = k.signin(k.by_attacker(u, t + 540, proxy, ip, user_agent=SPRAY_UA))
    k.label("password_spray_success", "spray_success", alert=True, users=[u.upn],
            time=t + 900, window=(t, t + 30 * MINUTE), event_ids=[worked, *ids],
            description=f"{ip}: the sprayed password worked for one user (his only sign-in "
            "from it, at home, hours after his last); named when the tenth failure makes "
            "the spray")  # fmt: skip
    k.label("password_spray_success_spray", "password_spray", alert=True,
            users=[*(v.upn for v in crowd), u.upn], time=t + 900, window=(t, t + 30 * MINUTE),
            event_ids=ids, description=f"{ip}: 11 users fail in 17 minutes and one gets in: "
            "the spray alert names him and is high")  # fmt: skip


def technique_lookalikes(k: Kit) -> None:
    # A developer who uses Visual Studio Code every working day from home.
    u = k.victim()
    # 09:30 local as a UTC hour of the day (east of UTC+9:30 it is the day before's evening,
    # which would fall before the tenant's first day).
    hour = (9.5 - u.utc_offset_h) % 24
    ids = [k.signin(k.attempt(u, k.at(d, hour), app=VSCODE, interactive=False))
           for d in range(k.days)]  # fmt: skip
    first = k.at(0, hour)
    k.label("developer_vscode_first_use", "first_party_client_phishing", alert=True,
            users=[u.upn], time=first, window=(first, first + HOUR), event_ids=ids[:1],
            description="benign: the developer's first use in the window; without a baseline "
            "(riskwatch baseline) the first use alerts")  # fmt: skip
    k.label_quiet("developer_vscode_daily", ("first_party_client_phishing",), u,
                  k.at(1, 0), k.at(k.days, 0), ids[1:],
                  "the same developer's daily Visual Studio Code use after that")

    # A meeting-room device signing in with a device code from the office.
    u = k.victim()
    t = k.at(2, 8.0 - u.utc_offset_h)
    ids = [k.signin(k.attempt(u, t, app=ROOMS, interactive=False, extra=DEVICE_CODE))]
    k.label_quiet("meeting_room_device_code", ("device_code_phishing",), u, t, t + HOUR, ids,
                  "a Teams Rooms device code sign-in from home, no risk, no flag")

    # A scanner mailing over SMTP AUTH: legacy auth until it is listed as an exception.
    u = k.victim()
    t = k.at(3, 7.0 - u.utc_offset_h)
    ids = [k.signin(k.attempt(u, t + i * 2 * HOUR, app=EXCHANGE_SMTP, interactive=False))
           for i in range(3)]  # fmt: skip
    k.label("scanner_smtp_auth", "legacy_auth_no_mfa", alert=True, users=[u.upn], time=t,
            window=(t, t + 24 * HOUR), event_ids=ids,
            description="benign: a scanner's SMTP AUTH; it alerts until its account is in "
            "RISKWATCH_LEGACY_AUTH_EXCEPTIONS")  # fmt: skip
