from __future__ import annotations

import pytest

from sanad.notifications.domain.addresses import is_e164, is_email, mask_mobile


@pytest.mark.parametrize("mobile", ["+966501234567", "+9647701234567", "+12025550123"])
def test_e164_numbers_pass(mobile: str) -> None:
    assert is_e164(mobile)


@pytest.mark.parametrize(
    "mobile", ["0501234567", "966501234567", "+0501234567", "+966 50 123 4567", "+٩٦٦٥٠١٢٣٤٥٦٧", ""]
)
def test_non_e164_numbers_fail(mobile: str) -> None:
    assert not is_e164(mobile)


@pytest.mark.parametrize("address", ["sara@example.com", "a.b+c@mail.example.sa"])
def test_plain_emails_pass(address: str) -> None:
    assert is_email(address)


@pytest.mark.parametrize("address", ["", "sara", "sara@", "@example.com", "a b@example.com", "a@b"])
def test_impossible_emails_fail(address: str) -> None:
    assert not is_email(address)


def test_masked_mobile_hides_the_middle() -> None:
    assert mask_mobile("+966501234567") == "+966******567"
