"""Analyst labels in Table Storage (Azurite): append-only, latest counts, unknown ids refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from azure.data.tables import TableServiceClient

from detections.review.labels import latest_labels
from detections.testing import T0
from service.state.incidents import IncidentStore
from service.state.labels import LabelError, LabelStore
from service.state.tables import Tables
from tests.test_review_accuracy import alert, incident

pytestmark = pytest.mark.azurite


@pytest.fixture
def tables(storage_connection, table_prefix):
    return Tables(TableServiceClient.from_connection_string(storage_connection), table_prefix)


def test_labels_append_with_who_and_when_and_the_latest_counts(tables):
    IncidentStore(tables).put(None, incident("inc1", alert("a1", "brute_force", "s1")),
                              outboxed=True)
    store = LabelStore(tables)
    store.add("inc1", "tp", T0, by="ana", note="confirmed by phone")
    store.add("inc1", "fp", T0 + timedelta(hours=1), by="bo", note="<b>travel</b>")
    history = store.history("inc1")
    assert [(lb.label, lb.by, lb.at) for lb in history] == [
        ("tp", "ana", T0), ("fp", "bo", T0 + timedelta(hours=1))]
    assert history[1].note == "<b>travel</b>"  # kept as data; outputs escape it
    assert [a.alert_id for a in history[0].alerts] == ["a1"]  # survives the incident's sweep
    assert latest_labels(store.all())["inc1"].label == "fp"


def test_an_unknown_incident_or_label_is_a_clear_error(tables):
    store = LabelStore(tables)
    with pytest.raises(LabelError, match="unknown incident id 'nope'"):
        store.add("nope", "tp", T0)
    with pytest.raises(LabelError, match="use one of tp, fp, indeterminate"):
        store.add("nope", "maybe", T0)
    assert list(store.all()) == []
