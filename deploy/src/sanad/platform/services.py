"""The Sanad services as the platform runs them: settings, environment, command lines."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

from sanad.platform.layout import (
    KAFKA_PORT,
    MAIL_HTTP_PORT,
    MAIL_SMTP_PORT,
    REDIS_PORT,
    REPO,
    SERVICES,
    SMS_SINK_PORT,
    ServiceInfo,
    port,
)
from sanad.platform.postgres import server_address
from sanad.shared.kafka_acls import service_principals
from sanad.shared.kafka_clients import KafkaCredentials
from sanad.shared.settings import PlatformSettings, ServiceSettings


def settings_of(service: ServiceInfo) -> ServiceSettings:
    module = importlib.import_module(f"sanad.{service.name}.settings")
    cls: type[ServiceSettings] = getattr(module, f"{service.name.capitalize()}Settings")
    return cls()


def database_services() -> list[tuple[str, str]]:
    """(role and schema name, password) of every service that owns a schema."""
    result = []
    for service in SERVICES:
        if service.uses_database:
            settings = settings_of(service)
            result.append((settings.db_role, settings.db_password.get_secret_value()))
    return result


def platform_settings() -> PlatformSettings:
    """The platform's own secrets; the local platform runs in dev unless told otherwise."""
    return PlatformSettings(environment=os.environ.get("SANAD_ENV", "dev"))


def kafka_users() -> list[KafkaCredentials]:
    """The SCRAM user of every service that talks to Kafka, with the password its settings
    hold (so a service and the broker agree)."""
    by_name = {service.name: service for service in SERVICES}
    users = []
    for principal in service_principals():
        settings = settings_of(by_name[principal])
        users.append(KafkaCredentials(principal, settings.kafka_password.get_secret_value()))
    return users


def redis_users_of_services() -> list[tuple[str, str]]:
    """(user, password) of every service that uses Redis."""
    result = []
    for service in SERVICES:
        settings = settings_of(service)
        if settings.uses_redis:
            result.append((settings.redis_username, settings.redis_password.get_secret_value()))
    return result


def platform_env() -> dict[str, str]:
    """What every service process is given, so all agree on where the infrastructure is."""
    pg_host, pg_port = server_address()
    env = {
        "SANAD_ENV": "dev",
        "SANAD_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{port(KAFKA_PORT)}",
        "SANAD_REDIS_URL": f"redis://127.0.0.1:{port(REDIS_PORT)}/0",
        "SANAD_PG_HOST": pg_host,
        "SANAD_PG_PORT": str(pg_port),
        "SANAD_SMS_BASE_URL": f"http://127.0.0.1:{port(SMS_SINK_PORT)}",
        "SANAD_SMTP_HOST": "127.0.0.1",
        "SANAD_SMTP_PORT": str(port(MAIL_SMTP_PORT)),
        "SANAD_MAIL_API_URL": f"http://127.0.0.1:{port(MAIL_HTTP_PORT)}",
        "SANAD_JWKS_URL": f"http://127.0.0.1:{SERVICES[0].port}/.well-known/jwks.json",
        # Identity believes X-Forwarded-For only from the gateway's address.
        "SANAD_IDENTITY_TRUSTED_PROXIES": '["127.0.0.1", "::1"]',
        # The gateway believes X-Forwarded-For only from the portal's host (it names the
        # browser it serves); any other client's own address is its rate-limit bucket.
        "SANAD_GATEWAY_FORWARDED_ALLOW_IPS": "127.0.0.1",
    }
    for service in SERVICES:
        env[service.port_variable] = str(service.port)
        env[f"SANAD_{service.name.upper()}_URL"] = f"http://127.0.0.1:{service.port}"
    return env


def migrations_dir(service: ServiceInfo) -> Path:
    return REPO / "services" / service.name / "migrations"


def command(service: ServiceInfo, action: str) -> list[str]:
    return [sys.executable, "-m", f"sanad.{service.name}", action]
