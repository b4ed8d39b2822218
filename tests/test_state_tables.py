"""Batch planning and limits, string capping, tables created on first use."""

from __future__ import annotations

import pytest
from azure.data.tables import TableServiceClient
from hypothesis import given
from hypothesis import strategies as st

from detections.engine import Engine
from detections.rules import signin_risk_detection
from detections.testing import risk_detection
from service.state.tables import (
    MAX_BATCH,
    Tables,
    cap_text,
    plan_batches,
    row_key_hash,
    submit,
    utf16_units,
)
from tests.support_sinks import make_tables


def test_batches_stay_under_100_ops_and_in_one_partition():
    ops = [("create", {"PartitionKey": f"p{i % 3}", "RowKey": str(i)}) for i in range(450)]
    batches = list(plan_batches(ops))
    assert all(len(b) <= MAX_BATCH for b in batches)
    assert all(len({op[1]["PartitionKey"] for op in b}) == 1 for b in batches)
    assert sorted(op[1]["RowKey"] for b in batches for op in b) == sorted(
        str(i) for i in range(450)
    )


def test_submit_refuses_oversized_and_cross_partition_batches():
    big = [("create", {"PartitionKey": "p", "RowKey": str(i)}) for i in range(101)]
    with pytest.raises(ValueError, match="at most 100"):
        submit(None, big)  # type: ignore[arg-type] - refused before any I/O
    mixed = [("create", {"PartitionKey": p, "RowKey": "r"}) for p in ("a", "b")]
    with pytest.raises(ValueError, match="one partition"):
        submit(None, mixed)  # type: ignore[arg-type]


def test_cap_text_counts_utf16_units_and_marks_the_cut():
    text = "😀" * 20_000  # two UTF-16 units each
    capped = cap_text(text, 1_000)
    assert utf16_units(capped) <= 1_000
    assert capped.endswith(" [truncated]")
    assert cap_text("short", 1_000) == "short"


@pytest.mark.azurite
def test_tables_are_created_on_first_use_with_the_prefix(storage_connection, table_prefix):
    tables = make_tables(storage_connection, table_prefix)
    client = tables.table("dedup")
    client.create_entity({"PartitionKey": "p", "RowKey": "r"})
    again = Tables(TableServiceClient.from_connection_string(storage_connection), table_prefix)
    assert again.table("dedup").get_entity("p", "r")["RowKey"] == "r"  # second create tolerated
    assert client.table_name == f"{table_prefix}dedup"
    with pytest.raises(ValueError, match="invalid table name"):
        tables.table("bad-name")


# One row-key hash for every table (history, dedup ledger, blob cursors, summary claims).
@given(st.text())
def test_row_key_hash_is_a_safe_fixed_length_key(text):
    key = row_key_hash(text)
    assert len(key) == 64 and set(key) <= set("0123456789abcdef")


@given(st.text(min_size=1, max_size=80))
def test_a_summary_claim_and_a_match_claim_share_one_row(principal):
    # The dedup store finds a match's claim by Match.dedup_hash (pure detections/) and the
    # overflow summary's by row_key_hash(dedup key): both must name the same row.
    (match,), _ = Engine([signin_risk_detection.RULE]).evaluate(
        risk_detection(user_principal_name=principal)
    )
    assert row_key_hash(match.dedup_key) == match.dedup_hash
