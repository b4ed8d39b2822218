"""The packed windows read exactly as the lists of records they replaced.

Each test drives a packed window and a plain list (``history_records.insert``, the old
``see_session``) with the same random entries: GUID and other ids, repeats, late and
out-of-order times, ties, a time that is not UTC; then compares what a reader sees.
"""

from __future__ import annotations

import copy
import pickle
import random
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone

from detections.history_columns import stamp
from detections.history_marks import LastSeen, Names, remember
from detections.history_records import (
    COUNTRY_RETENTION,
    MAX_COUNTRIES,
    MAX_SESSION_NETWORKS,
    MAX_SESSIONS,
    WINDOW_RETENTION,
    Attempt,
    AttemptWindow,
    Countries,
    CountrySeen,
    SessionWindows,
    SuccessSeen,
    SuccessWindow,
    Timed,
    UserState,
    WindowState,
    insert,
)
from detections.windows import between

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
PLUS_TWO = timezone(timedelta(hours=2))


def _id(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.75:
        return str(uuid.UUID(int=rng.getrandbits(128)))
    if kind < 0.85:
        return str(uuid.UUID(int=rng.getrandbits(128))).upper()  # kept as text
    return f"corr-{rng.randrange(40)}@x"  # a fallback id, repeated sometimes


def _time(rng: random.Random, step: int) -> datetime:
    # On a half-hour grid mostly: ties, and entries exactly at a retention's edge.
    late = rng.random() < 0.2
    minutes = step * 10 - (rng.randrange(40) * 30 if late else 0)
    minutes -= minutes % 30 if rng.random() < 0.5 else 0
    time = T0 + timedelta(minutes=minutes, microseconds=rng.choice((0, 0, 0, 1, 999_999)))
    return time.astimezone(PLUS_TWO) if rng.random() < 0.05 else time


def _attempt(rng: random.Random, step: int, seen: list[Attempt]) -> Attempt:
    if seen and rng.random() < 0.15:
        return rng.choice(seen)  # the same event again (a poll overlap)
    event_id = rng.choice(seen).event_id if seen and rng.random() < 0.1 else _id(rng)
    seen.append(Attempt(_time(rng, step), event_id, "u-1", rng.choice(("203.0.113.1", None)),
                        rng.choice((0, 50074)), rng.choice((7922, None)),
                        rng.choice(("US", "GB")), rng.choice(("dev-1", None)),
                        rng.choice(("agent", None)), rng.random() < 0.3))
    return seen[-1]


def _success(rng: random.Random, step: int, seen: list[Attempt]) -> SuccessSeen:
    a = _attempt(rng, step, seen)
    city = "London" if a.event_id[-1] in "02468ace" else None  # the same event, the same fields
    return SuccessSeen(a.time, a.event_id, a.ip, a.country, city, 51.5, -0.1 if a.code else None,
                       a.device, a.trusted, False, a.asn)


def _same(packed: Sequence[Timed], plain: Sequence[Timed]) -> None:
    got = list(packed)
    assert got == list(plain)
    for a, b in zip(got, plain, strict=True):
        assert a.time.isoformat() == b.time.isoformat()
        assert [type(v) for v in _values(a)] == [type(v) for v in _values(b)]


def _values(record: object) -> list[object]:
    return [getattr(record, name) for name in record.__slots__]  # type: ignore[attr-defined]


def test_a_window_orders_deduplicates_and_trims_as_the_list_did() -> None:
    for seed in range(40):
        rng = random.Random(seed)  # noqa: S311 - reproducible cases
        retention, cap = timedelta(hours=rng.choice((1, 6, 26))), rng.choice((3, 12, 40))
        packed, plain, ids = SuccessWindow(), list[SuccessSeen](), list[Attempt]()
        for step in range(rng.randrange(1, 120)):
            record = _success(rng, step, ids)
            assert (insert(packed, record, retention=retention, cap=cap)
                    == insert(plain, record, retention=retention, cap=cap))
            if rng.random() < 0.1:
                start = T0 + timedelta(minutes=rng.randrange(-60, step * 10 + 1))
                end = start + timedelta(minutes=rng.randrange(90))
                assert between(packed, start, end) == between(plain, start, end)
        _same(packed, plain)
        assert len(packed) == len(plain) and bool(packed) == bool(plain)
        assert packed[-1:] == plain[-1:] and list(reversed(packed)) == plain[::-1]
        assert packed.first_time() == (plain[0].time if plain else None)
        assert packed.last_time() == (plain[-1].time if plain else None)


def test_address_windows_share_details_and_read_back_the_same() -> None:
    rng = random.Random(7)  # noqa: S311
    packed, plain, ids = AttemptWindow(), list[Attempt](), list[Attempt]()
    for step in range(300):
        record = _attempt(rng, step, ids)
        insert(packed, record, retention=WINDOW_RETENTION, cap=200)
        insert(plain, record, retention=WINDOW_RETENTION, cap=200)
    _same(packed, plain)
    assert packed.column(0) == [a.user for a in plain]


def _see_session(sessions: dict[str, list[Attempt]], sid: str, network: Attempt) -> None:
    """``UserState.see_session`` as it was, over a dict of lists."""
    window = sessions.setdefault(sid, [])
    insert(window, network, retention=WINDOW_RETENTION, cap=MAX_SESSION_NETWORKS)
    newest = max(w[-1].time for w in sessions.values() if w)
    for old in [s for s, w in sessions.items() if w[-1].time < newest - WINDOW_RETENTION]:
        del sessions[old]
    while len(sessions) > MAX_SESSIONS:
        del sessions[min(sessions, key=lambda s: sessions[s][-1].time)]


def test_sessions_keep_order_idle_and_cap_as_the_dict_did() -> None:
    for seed in range(30):
        rng = random.Random(seed)  # noqa: S311
        user, plain, ids = UserState(), dict[str, list[Attempt]](), list[Attempt]()
        sids = [_id(rng) for _ in range(rng.choice((3, 30, 60)))]
        for step in range(rng.randrange(1, 200)):
            sid, record = rng.choice(sids), _attempt(rng, step, ids)
            entry = stamp(record.time, record.event_id)
            user.see_session(sid, entry, (entry[3], *AttemptWindow().fields(record)))
            _see_session(plain, sid, record)
        assert list(user.sessions) == list(plain)
        for sid, window in plain.items():
            _same(user.sessions[sid], window)
            assert sid in user.sessions
        assert user.sessions.get("absent") is None and "absent" not in user.sessions
        assert dict(user.sessions.items()) == plain


def test_equal_fields_of_other_types_are_not_shared() -> None:
    window = SuccessWindow()
    for n, latitude in enumerate((51, 51.0, True)):
        record = SuccessSeen(T0 + timedelta(minutes=n), str(uuid.UUID(int=n)), "203.0.113.1", "GB",
                             "London",
                             latitude, -0.1, None, False, False, None)
        insert(window, record, retention=timedelta(hours=26), cap=40)
    assert [type(s.latitude) for s in window] == [int, float, bool]


def test_stored_forms_round_trip_and_the_shared_empties_stay_shared() -> None:
    rng = random.Random(3)  # noqa: S311
    user, ids = UserState(), list[Attempt]()
    window = SuccessWindow()
    for step in range(30):
        insert(window, _success(rng, step, ids), retention=timedelta(hours=26), cap=40)
    user.successes = window
    again = UserState.from_dict(user.to_dict())
    assert again.to_dict() == user.to_dict() and again.successes == user.successes
    for copied in (copy.deepcopy(user), pickle.loads(pickle.dumps(user))):  # noqa: S301
        assert copied.successes == user.successes
        assert copied.sessions is SessionWindows.empty()
    assert WindowState.from_dict({}).successes is AttemptWindow.empty()
    try:
        AttemptWindow.empty().add_record(_attempt(rng, 0, ids), retention=WINDOW_RETENTION,
                                         cap=3)
    except TypeError:
        pass
    else:
        raise AssertionError("the shared empty window took a write")


def test_last_seen_maps_remember_as_the_dict_did() -> None:
    for seed in range(30):
        rng = random.Random(seed)  # noqa: S311
        cap, retention = rng.choice((4, 24, 500)), timedelta(hours=rng.choice((1, 72)))
        packed, plain = LastSeen(), dict[str, datetime]()
        keys = [f"k{n}" for n in range(rng.choice((5, 40, 700)))]
        for step in range(rng.randrange(1, 900)):
            key, time = rng.choice(keys), _time(rng, step)
            assert (packed.remember(key, time, retention=retention, cap=cap)
                    == remember(plain, key, time, retention=retention, cap=cap))
        assert list(packed.items()) == list(plain.items())
        assert packed.get("absent") is None and packed == plain


def _see_country(countries: dict[str, CountrySeen], country: str, time: datetime) -> None:
    """``UserState.see_country`` as it was, over a dict."""
    seen = countries.get(country)
    if seen is None:
        countries[country] = CountrySeen(time, time)
    else:
        seen.first, seen.last = min(seen.first, time), max(seen.last, time)
        seen.count += 1
    newest = max(c.last for c in countries.values())
    for name in [n for n, c in countries.items() if c.last < newest - COUNTRY_RETENTION]:
        del countries[name]
    while len(countries) > MAX_COUNTRIES:
        del countries[min(countries, key=lambda n: countries[n].last)]


def test_countries_count_and_forget_as_the_dict_did() -> None:
    for seed in range(20):
        rng = random.Random(seed)  # noqa: S311
        packed, plain = Countries(), dict[str, CountrySeen]()
        names = [f"C{n}" for n in range(rng.choice((3, 90)))]
        for step in range(rng.randrange(1, 400)):
            name = rng.choice(names)
            time = T0 + timedelta(days=rng.randrange(-400, 400), microseconds=step % 3)
            packed.see(name, time)
            _see_country(plain, name, time)
        assert list(packed.items()) == list(plain.items())
        assert packed.first_time() == min(c.first for c in plain.values())
        assert Countries.of(plain.items()) == plain


def test_the_retention_edge_is_kept_and_a_microsecond_past_it_is_not() -> None:
    for gap, kept in ((timedelta(hours=1), 2), (timedelta(hours=1, microseconds=1), 1)):
        packed, plain = AttemptWindow(), list[Attempt]()
        for n, time in enumerate((T0, T0 + gap)):
            record = Attempt(time, str(uuid.UUID(int=n + 1)), "u-1", None, 0)
            insert(packed, record, retention=timedelta(hours=1), cap=10)
            insert(plain, record, retention=timedelta(hours=1), cap=10)
        assert len(packed) == kept and list(packed) == plain


def test_a_map_of_one_key_keeps_it_bare_and_reads_as_a_map() -> None:
    seen, names, countries = LastSeen(), Names(), Countries()
    seen.remember("abc", T0, retention=timedelta(hours=1), cap=4)
    names.put("abc", "a@x")
    countries.see("GB", T0)
    for kept in (seen, names, countries):
        assert kept._key_store == ("abc" if kept is not countries else "GB")  # no tuple
        assert "b" not in kept and "G" not in kept  # never read as text: a key, or nothing
        assert list(kept) == ([("abc")] if kept is not countries else ["GB"]) and len(kept) == 1
        for copied in (copy.deepcopy(kept), pickle.loads(pickle.dumps(kept))):  # noqa: S301
            assert copied == kept
    assert names._value_store == "a@x" and names["abc"] == "a@x" and names.get("b") is None
    names.put("abd", "b@x")
    assert names._key_store == ("abc", "abd") and dict(names) == {"abc": "a@x", "abd": "b@x"}
    countries.see("FR", T0 + COUNTRY_RETENTION * 2)  # GB forgotten: one key again
    assert countries._key_store == "FR" and countries["FR"].count == 1


def test_names_put_and_read_as_the_dict_did() -> None:
    for seed in range(20):
        rng = random.Random(seed)  # noqa: S311
        packed, plain = Names(), dict[str, str]()
        for _ in range(rng.randrange(1, 40)):
            key, value = f"u{rng.randrange(4)}", f"n{rng.randrange(3)}@x"
            packed.put(key, value)
            plain[key] = value
            assert list(packed.items()) == list(plain.items()) and packed == plain
        assert Names(plain.items()) == plain and all(packed[k] == v for k, v in plain.items())
