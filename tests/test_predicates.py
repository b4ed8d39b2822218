"""The one home of open risk, active level, user sign-in, interactive and user key."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from detections.model import CLOSED_RISK_STATES, RISK_LEVELS, RISK_STATES
from detections.predicates import (
    is_active_level,
    is_interactive,
    is_open_risk,
    is_risk_flagged,
    is_user_sign_in,
    user_key,
)
from detections.testing import sign_in

states = st.sampled_from((*RISK_STATES, None))
levels = st.sampled_from((*RISK_LEVELS, None))
risk_types = st.lists(st.sampled_from(("anonymizedIPAddress", "unfamiliarFeatures")), max_size=2)


def test_open_risk_is_every_state_nobody_closed() -> None:
    assert {s for s in RISK_STATES if not is_open_risk(s)} == CLOSED_RISK_STATES
    assert is_open_risk(None)  # no state reported: nobody closed it


def test_hidden_and_none_are_not_active_levels() -> None:
    assert [lvl for lvl in RISK_LEVELS if is_active_level(lvl)] == ["low", "medium", "high"]


@given(states, levels, levels, risk_types)
@example("dismissed", "high", "high", ["unfamiliarFeatures"])
@example("none", "none", "none", ["anonymizedIPAddress"])
def test_a_flag_counts_only_while_the_risk_is_open(state, during, aggregated, types) -> None:
    event = sign_in(
        risk_state=state,
        risk_level_during_sign_in=during,
        risk_level_aggregated=aggregated,
        risk_event_types=tuple(types),
    )
    something = (
        is_active_level(during)
        or is_active_level(aggregated)
        or "unfamiliarFeatures" in types
        or state in {"atRisk", "confirmedCompromised"}
    )
    assert is_risk_flagged(event) is (is_open_risk(state) and something)


def test_interactive_follows_the_record_else_the_category() -> None:
    assert is_interactive(sign_in(interactive=None, category="adfs"))
    assert not is_interactive(sign_in(interactive=None, category="nonInteractiveUser"))
    assert not is_interactive(sign_in(interactive=False, category="interactiveUser"))
    assert is_user_sign_in(sign_in(category="adfs"))
    assert not is_user_sign_in(sign_in(category="servicePrincipal"))


def test_user_key_is_the_object_id_else_the_lower_cased_upn() -> None:
    assert user_key(sign_in(user_id="U-Alice")) == "u-alice"
    assert user_key(sign_in(user_id=None, user_principal_name="Bob@Contoso.com")) == (
        "bob@contoso.com"
    )
