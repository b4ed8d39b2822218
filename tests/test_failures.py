from __future__ import annotations

import pytest

from detections.failures import ERROR_CLASSES, classify, classify_code, counts_as_failure
from detections.testing import sign_in


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (50126, "credential"), (50034, "credential"), (50053, "credential"),
        (50055, "credential"), (50056, "credential"), (50057, "credential"),
        (50064, "credential"), (500121, "mfa"), (50074, "interrupt"), (50076, "interrupt"),
        (50079, "interrupt"), (50140, "interrupt"), (50058, "interrupt"), (16000, "interrupt"),
        (65001, "consent"), (53003, "policy"), (99999, "other"), (0, "none"),
    ],
)
def test_error_code_classes(code: int, expected: str) -> None:
    assert classify_code(code) == expected


def test_consent_and_interrupts_never_count() -> None:
    for code, cls in ERROR_CLASSES.items():
        failed = sign_in(success=False, error_code=code)
        assert counts_as_failure(failed) is (cls in {"credential", "mfa"}), code
    assert not counts_as_failure(sign_in(success=False, error_code=65001))


def test_sign_in_outcomes() -> None:
    assert classify(sign_in()) == "none"
    assert classify(sign_in(success=False, error_code=0)) == "other"  # failed, no code
    assert classify(sign_in(success=False, error_code=500121)) == "mfa"
    assert not counts_as_failure(sign_in())
