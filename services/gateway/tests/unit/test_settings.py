"""The gateway's settings as the environment gives them."""

import pytest

from sanad.gateway.settings import GatewaySettings


def test_downstream_urls_come_from_the_platform_wide_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SANAD_CARDS_URL", "http://127.0.0.1:9106")
    # The platform exports these to the tests; identity's default is what is checked here.
    monkeypatch.delenv("SANAD_IDENTITY_URL", raising=False)
    monkeypatch.delenv("SANAD_IDENTITY_PORT", raising=False)
    upstreams = GatewaySettings().upstreams()
    assert upstreams["cards"] == "http://127.0.0.1:9106"
    assert upstreams["identity"] == "http://127.0.0.1:8001"
    assert len(upstreams) == 7


@pytest.mark.parametrize(
    ("value", "origins"),
    [
        ("https://a.test, https://b.test", ["https://a.test", "https://b.test"]),
        ('["https://a.test"]', ["https://a.test"]),
        ("", []),
    ],
)
def test_cors_origins_take_a_comma_list_or_json(
    monkeypatch: pytest.MonkeyPatch, value: str, origins: list[str]
) -> None:
    monkeypatch.setenv("SANAD_GATEWAY_CORS_ORIGINS", value)
    assert GatewaySettings().cors_origins == origins
