from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from sanad.identity.settings import IdentitySettings
from sanad.shared.settings import dev_secret, is_placeholder, reveal


def test_service_prefix_and_shared_infra_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANAD_IDENTITY_PORT", "9101")
    monkeypatch.setenv("SANAD_KAFKA_BOOTSTRAP_SERVERS", "broker:9092")
    monkeypatch.setenv("SANAD_PG_HOST", "db")
    monkeypatch.delenv("SANAD_PG_PORT", raising=False)  # ./sanad exports a moved one
    settings = IdentitySettings()
    assert settings.port == 9101
    assert settings.kafka_bootstrap_servers == "broker:9092"
    assert settings.database_url.startswith("postgresql+asyncpg://identity:")
    assert settings.database_url.endswith("@db:5432/sanad")
    assert settings.db_schema == "identity"


def test_dev_placeholders_are_fine_in_dev(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANAD_ENV", "dev")
    assert IdentitySettings().environment == "dev"


def test_placeholder_secrets_are_refused_outside_dev(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANAD_ENV", "prod")
    with pytest.raises(ValidationError, match="SANAD_IDENTITY_DB_PASSWORD"):
        IdentitySettings()


def test_real_secrets_pass_outside_dev(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANAD_ENV", "prod")
    for name, _ in IdentitySettings.model_fields.items():
        field = IdentitySettings.model_fields[name]
        if field.annotation is SecretStr:
            # Long enough for every key (a pseudonym key has 32 characters at least).
            value = f"a-real-{name}-value-7f3a-0123456789"
            monkeypatch.setenv(f"SANAD_IDENTITY_{name.upper()}", value)
    assert IdentitySettings().environment == "prod"


def test_dev_secret_marking() -> None:
    assert is_placeholder(dev_secret("abc"))
    assert is_placeholder("")
    assert not is_placeholder("x9-real")
    assert reveal(dev_secret("abc")) == "abc"
    assert reveal("abc") == "abc"


def test_without_sanad_env_the_repo_secrets_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SANAD_ENV", raising=False)
    with pytest.raises(ValidationError, match="SANAD_IDENTITY_SIGNING_KEY"):
        IdentitySettings()


def test_a_shipped_dev_value_is_refused_even_without_its_marker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sanad.identity.settings import DEV_SIGNING_KEY

    monkeypatch.setenv("SANAD_ENV", "prod")
    monkeypatch.setenv("SANAD_IDENTITY_SIGNING_KEY", DEV_SIGNING_KEY)
    monkeypatch.setenv("SANAD_IDENTITY_DB_PASSWORD", "a-real-password-7f3a")
    with pytest.raises(ValidationError, match="SANAD_IDENTITY_SIGNING_KEY"):
        IdentitySettings()


def test_bus_credentials_are_required_outside_dev_only_where_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sanad.gateway.settings import GatewaySettings
    from sanad.profile.settings import ProfileSettings
    from sanad.shared.settings import dev_kafka_password

    monkeypatch.setenv("SANAD_ENV", "prod")
    monkeypatch.setenv("SANAD_PROFILE_DB_PASSWORD", "a-real-password-7f3a")
    monkeypatch.setenv("SANAD_PSEUDONYM_KEY", "a-real-pseudonym-key-of-32-or-more-chars")
    monkeypatch.setenv("SANAD_PROFILE_KAFKA_PASSWORD", dev_kafka_password("profile"))
    with pytest.raises(ValidationError) as refused:
        ProfileSettings()
    assert "SANAD_PROFILE_KAFKA_PASSWORD" in str(refused.value)
    assert "REDIS" not in str(refused.value)  # profile does not use Redis

    monkeypatch.setenv("SANAD_PROFILE_KAFKA_PASSWORD", "a-real-kafka-secret-7f3a")
    settings = ProfileSettings()
    assert settings.kafka.principal == "profile"
    assert settings.kafka.options()["sasl_mechanism"] == "SCRAM-SHA-512"
    assert "a-real-kafka-secret" not in repr(settings.kafka)

    # The gateway has no Kafka user; its Redis one is required.
    with pytest.raises(ValidationError) as refused:
        GatewaySettings()
    assert "SANAD_GATEWAY_REDIS_PASSWORD" in str(refused.value)
    assert "KAFKA" not in str(refused.value)


def test_the_platforms_admin_passwords_are_refused_outside_dev(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sanad.shared.settings import PlatformSettings

    monkeypatch.setenv("SANAD_ENV", "test")
    assert PlatformSettings().kafka_admin.username == "admin"
    monkeypatch.setenv("SANAD_ENV", "prod")
    with pytest.raises(ValidationError, match="SANAD_KAFKA_ADMIN_PASSWORD"):
        PlatformSettings()


def test_the_database_pool_keeps_what_its_setting_says(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connections kept per process (a burst beyond them opens connections it closes on
    return, so the setting is what a deployment raises)."""
    from sqlalchemy.pool import AsyncAdaptedQueuePool

    from sanad.shared.db import engine_for

    monkeypatch.setenv("SANAD_IDENTITY_DB_POOL_SIZE", "3")
    pool = engine_for(IdentitySettings()).pool
    assert isinstance(pool, AsyncAdaptedQueuePool)
    assert pool.size() == 3
    monkeypatch.setenv("SANAD_IDENTITY_DB_POOL_SIZE", "0")
    with pytest.raises(ValidationError, match="db_pool_size"):
        IdentitySettings()
