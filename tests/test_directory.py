"""Parsing Graph's role assignments: keyed by object id, and no record can crash the map."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from detections.directory import PrivilegedMap, parse_role_assignments
from detections.errors import InputError

GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
SECURITY_ADMIN = "194ae4cb-b126-40b2-bd5b-6091b380977d"


def assignment(**overrides: Any) -> dict[str, Any]:
    """One tenant-wide Global Administrator assignment as Graph expands it."""
    record: dict[str, Any] = {
        "id": "a1", "principalId": "u-alice", "roleDefinitionId": GLOBAL_ADMIN,
        "directoryScopeId": "/",
        "principal": {"@odata.type": "#microsoft.graph.user", "id": "u-alice",
                      "userPrincipalName": "alice@contoso.com"},
        "roleDefinition": {"id": GLOBAL_ADMIN, "templateId": GLOBAL_ADMIN},
    }
    record.update(overrides)
    return record


def test_the_map_is_keyed_by_the_assignments_principal_id() -> None:
    """principalId is the assignment's own property; the expansion is display data."""
    privileged = parse_role_assignments([{"value": [
        assignment(principal={"id": "something-else", "userPrincipalName": "alice@contoso.com"}),
    ]}])
    assert dict(privileged.by_id) == {"u-alice": ("Global Administrator",)}
    assert privileged.roles_of("something-else", None) == ()


@pytest.mark.parametrize("principal", [["u-alice"], "u-alice", 7, None])
def test_a_principal_that_is_not_an_object_is_no_crash(principal: object) -> None:
    privileged = parse_role_assignments([{"value": [assignment(principal=principal)]}])
    assert privileged.roles_of("u-alice", None) == ("Global Administrator",)
    assert dict(privileged.by_upn) == {}


@pytest.mark.parametrize("principal_id", [{"id": "x"}, ["u-alice"], 42, "  "])
def test_a_principal_id_that_is_not_a_string_names_the_field(principal_id: object) -> None:
    record = assignment(principalId=principal_id, principal={})
    with pytest.raises(InputError, match=r"g.json:1: field 'value\[0\]\.principalId'"):
        parse_role_assignments([{"value": [record]}], "g.json")


def test_one_broken_assignment_never_drops_the_others() -> None:
    skipped: list[InputError] = []
    pages = [
        {"value": [assignment(principalId=["x"], principal={}), "not an object",
                   assignment(principalId="u-bob", roleDefinitionId=SECURITY_ADMIN,
                              roleDefinition=None, principal={"id": "u-bob"})]},
        {"value": {"not": "a list"}},
        {"value": [assignment()]},
    ]
    privileged = parse_role_assignments(pages, "g.json", skipped=skipped)
    assert privileged.roles_of("u-bob", None) == ("Security Administrator",)
    assert privileged.roles_of("u-alice", None) == ("Global Administrator",)
    assert [str(e.where) for e in skipped] == [
        "g.json:1: field 'value[0].principalId'", "g.json:1: field 'value[1]'",
        "g.json:2: field 'value'",
    ]


# Any JSON value in any field of a valid assignment: a map or an InputError, never a crash.
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=8,
)
FIELDS = ["principalId", "roleDefinitionId", "directoryScopeId", "principal", "roleDefinition",
          "principal.id", "principal.userPrincipalName", "roleDefinition.templateId"]


@given(field=st.sampled_from(FIELDS), value=JSON)
@example(field="principal", value=["u-alice"])  # failed before: AttributeError on .get
@example(field="roleDefinition.templateId", value={"a": 1})
def test_any_value_at_any_field_is_parsed_or_named(field: str, value: object) -> None:
    record = copy.deepcopy(assignment())
    target = record
    *parents, leaf = field.split(".")
    for parent in parents:
        target = target[parent]
    target[leaf] = value
    skipped: list[InputError] = []
    privileged = parse_role_assignments([{"value": [record]}], "g.json", skipped=skipped)
    assert isinstance(privileged, PrivilegedMap)
    assert all(str(e).startswith("g.json:1: field 'value[0]") for e in skipped)
    assert len(privileged) + len(skipped) <= 1
    # The stored form reads back the same (the Table cache keeps it as JSON).
    assert PrivilegedMap.from_dict(privileged.to_dict()) == privileged
