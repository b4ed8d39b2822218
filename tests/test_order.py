"""``detections.order``: one judging order, whatever order a batch arrived in."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from detections.engine import Engine
from detections.model import Event
from detections.order import in_time_order, order_key, sorted_batch, untie, untie_sorted
from detections.registry import load_rules
from detections.testing import T0, risk_detection, risky_user, sign_in

SUCCESS = sign_in(id="si-7", time=T0)
# The same id and time as SUCCESS, other content: a record Graph corrected, read twice.
FAILURE = sign_in(id="si-7", time=T0, success=False, error_code=50126,
                  failure_reason="Invalid password", ip_address="198.51.100.7")  # fmt: skip


def test_events_sort_by_time_then_id_then_kind() -> None:
    later = sign_in(id="a", time=T0 + timedelta(seconds=1))
    same_time: list[Event] = [
        risky_user(time=T0), sign_in(id="b"), risk_detection(id="b"), sign_in(id="a")
    ]
    ordered = in_time_order([later, *same_time])
    assert [(e.event_id, e.kind) for e in ordered] == [
        ("a", "signIn"), ("b", "riskDetection"), ("b", "signIn"),
        (f"u-alice@{T0.isoformat()}", "riskyUser"), ("a", "signIn"),
    ]  # fmt: skip


def test_equal_keys_are_ordered_by_content_not_by_position() -> None:
    assert order_key(SUCCESS) == order_key(FAILURE)
    assert in_time_order([SUCCESS, FAILURE]) == in_time_order([FAILURE, SUCCESS])


def test_the_engine_judges_a_same_id_same_time_pair_alike_in_either_order() -> None:
    # Whichever of the pair is judged first is the one the history keeps (the other
    # is a re-read): before, that was whichever came first in the batch.
    kept = []
    for batch in ([SUCCESS, FAILURE], [FAILURE, SUCCESS]):
        engine = Engine(load_rules())
        list(engine.run(batch))
        user = engine.history.users["u-alice"]
        kept.append((len(user.successes), len(user.failures)))
    assert kept[0] == kept[1]


def test_untie_holds_a_run_until_a_larger_key_comes() -> None:
    pulled: list[Event] = []

    def lazily() -> Iterator[Event]:
        for event in (SUCCESS, FAILURE, sign_in(id="z")):
            pulled.append(event)
            yield event

    first = next(untie(lazily()))
    assert len(pulled) == 3  # the run of two was complete only when "z" arrived
    assert first == in_time_order([SUCCESS, FAILURE])[0]


# A few times, ids and addresses, so that ties of every kind are common.
events = st.builds(
    lambda minute, n, ip, ok: sign_in(
        id=f"si-{n}", time=T0 + timedelta(minutes=minute), ip_address=ip, success=ok,
        error_code=0 if ok else 50126,
    ),
    st.integers(0, 3), st.integers(0, 3), st.sampled_from(["192.0.2.1", "192.0.2.2"]),
    st.booleans(),
) | st.builds(
    lambda minute: risky_user(time=T0 + timedelta(minutes=minute)), st.integers(0, 3)
)  # fmt: skip


@given(st.lists(events, max_size=30), st.randoms(use_true_random=False))
def test_any_permutation_of_a_batch_gives_the_same_order(
    batch: list[Event], rnd: random.Random
) -> None:
    shuffled = list(batch)
    rnd.shuffle(shuffled)
    ordered = in_time_order(batch)
    assert in_time_order(shuffled) == ordered
    assert sorted(map(repr, ordered)) == sorted(map(repr, batch))  # nothing lost or added
    keys = [order_key(e) for e in ordered]
    assert keys == sorted(keys)


def test_a_batch_in_order_is_passed_on_as_it_is() -> None:
    batch: list[Event] = [sign_in(id=f"si-{n}", time=T0 + timedelta(minutes=n)) for n in range(3)]
    keys, ordered = sorted_batch(batch)
    assert ordered is batch
    assert keys == [order_key(e) for e in batch]


@given(st.lists(events, max_size=30), st.lists(st.integers(0, 30), max_size=6),
       st.randoms(use_true_random=False))
def test_sorted_batches_untie_as_one_stream(
    batch: list[Event], cuts: list[int], rnd: random.Random
) -> None:
    # However a sorted stream is cut into batches (runs of equal keys split across them,
    # empty batches), it comes out in the one judging order.
    shuffled = list(batch)
    rnd.shuffle(shuffled)
    keys, ordered = sorted_batch(shuffled)
    assert ordered == sorted(shuffled, key=order_key)
    assert keys == [order_key(e) for e in ordered]
    bounds = [0, *sorted(min(c, len(ordered)) for c in cuts), len(ordered)]
    batches = [(keys[a:b], ordered[a:b]) for a, b in pairwise(bounds)]
    assert list(untie_sorted(batches)) == in_time_order(batch)
