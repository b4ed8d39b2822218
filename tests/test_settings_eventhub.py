"""The Event Hubs settings: off unless a hub is named, and a half-set path is refused."""

from __future__ import annotations

import pytest

from service.settings import SettingsError, load_settings

BASE = {"RISKWATCH_STORAGE": "UseDevelopmentStorage=true"}
NAMESPACE = "evhns-riskwatch-abc.servicebus.windows.net"


def test_off_by_default_and_identity_form_when_set() -> None:
    assert load_settings(BASE).eventhub is None
    hub = load_settings({**BASE, "RISKWATCH_EVENTHUB_NAME": "entra-logs",
                         "RISKWATCH_EVENTHUB__fullyQualifiedNamespace": NAMESPACE,
                         "RISKWATCH_EVENTHUB__credential": "managedidentity",
                         "RISKWATCH_EVENTHUB__clientId": "00000000-0000-0000-0000-000000000001"}
                        ).eventhub
    assert hub is not None and hub.namespace == NAMESPACE and hub.consumer_group == "$Default"
    assert hub.client_id == "00000000-0000-0000-0000-000000000001"


@pytest.mark.parametrize(("extra", "named"), [
    ({"RISKWATCH_EVENTHUB_NAME": "entra-logs"}, "RISKWATCH_EVENTHUB__fullyQualifiedNamespace"),
    ({"RISKWATCH_EVENTHUB__fullyQualifiedNamespace": NAMESPACE}, "RISKWATCH_EVENTHUB_NAME"),
    ({"RISKWATCH_EVENTHUB_NAME": "entra-logs",
      "RISKWATCH_EVENTHUB__fullyQualifiedNamespace": "myhub.example.com"},
     "RISKWATCH_EVENTHUB__fullyQualifiedNamespace"),
    ({"RISKWATCH_EVENTHUB_NAME": "entra-logs", "RISKWATCH_EVENTHUB": "Endpoint=sb://x/",
      "RISKWATCH_EVENTHUB__credential": "clientsecret"}, "RISKWATCH_EVENTHUB__credential"),
])
def test_a_half_set_path_is_one_clear_problem(extra: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({**BASE, **extra})
    assert named in str(caught.value)
