"""Settings: one pydantic-settings class per service, one env prefix per service.

Infrastructure addresses are shared by every service and read from un-prefixed ``SANAD_*``
variables; everything that belongs to one service (its port, its DB password, its secrets)
is read with that service's prefix, e.g. ``SANAD_IDENTITY_PORT``.
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sanad.shared.kafka_clients import ADMIN_PRINCIPAL, KafkaAccess, KafkaCredentials

Environment = Literal["dev", "test", "prod"]

# Values that ship in the repo for local use; refused anywhere but dev/test.
# Dev keys that ship in the repo start with DEV_SECRET_PREFIX.
PLACEHOLDER_MARKERS = ("dev-password", "change-me", "changeme", "placeholder")
DEV_SECRET_PREFIX = "dev-"
# Every value marked with dev_secret(), so one pasted without its prefix is caught too.
_SHIPPED_DEV_VALUES: set[str] = set()


def is_placeholder(secret: str) -> bool:
    lowered = secret.lower()
    return (
        not secret
        or lowered.startswith(DEV_SECRET_PREFIX)
        or secret in _SHIPPED_DEV_VALUES
        or any(marker in lowered for marker in PLACEHOLDER_MARKERS)
    )


def dev_secret(value: str) -> str:
    """Mark a secret that ships in the repo for local use (refused outside dev/test)."""
    _SHIPPED_DEV_VALUES.add(value)
    return DEV_SECRET_PREFIX + value


def reveal(secret: str) -> str:
    """The usable value of a secret, without the dev marker."""
    return secret.removeprefix(DEV_SECRET_PREFIX)


# Connections a process's pool keeps by default (ServiceSettings.db_pool_size).
DB_POOL_SIZE = 10


class ServiceSettings(BaseSettings):
    """Base of every service's settings. Subclasses set ``service`` and the env prefix."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    service: str = "sanad"
    # Fails closed: unless SANAD_ENV says dev or test, the repo's dev secrets are refused.
    environment: Environment = Field("prod", validation_alias="SANAD_ENV")
    log_level: str = Field("INFO", validation_alias="SANAD_LOG_LEVEL")
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092", validation_alias="SANAD_KAFKA_BOOTSTRAP_SERVERS"
    )
    redis_url: str = Field("redis://127.0.0.1:6379/0", validation_alias="SANAD_REDIS_URL")
    pg_host: str = Field("127.0.0.1", validation_alias="SANAD_PG_HOST")
    pg_port: int = Field(5432, validation_alias="SANAD_PG_PORT")
    pg_database: str = Field("sanad", validation_alias="SANAD_PG_DATABASE")

    jwks_url: str = Field(
        "http://127.0.0.1:8001/.well-known/jwks.json", validation_alias="SANAD_JWKS_URL"
    )

    host: str = "127.0.0.1"
    port: int = 8000
    # Addresses of proxies (a load balancer) whose X-Forwarded-For uvicorn may believe,
    # comma-separated; empty: the peer address is the client's.
    forwarded_allow_ips: str = ""
    # HTTP worker processes (uvicorn workers sharing the port). Each runs the whole app:
    # its consumers join the same consumer groups, its outbox relay stands by while another
    # holds the schema's publishing lock. Services whose reads are hot default to more.
    workers: int = Field(1, ge=1, le=64)
    # Every server bounds what a client may hold (sanad.shared.http.RequestGuard,
    # sanad.shared.server): the body's size (413 before it is parsed), the time to send the
    # request line and headers, and the time between two pieces of the body (408).
    max_body_bytes: int = Field(1024 * 1024, ge=1)
    header_read_timeout: float = Field(10.0, gt=0)
    body_read_timeout: float = Field(15.0, gt=0)
    # The service's own Postgres role is named after the service and owns the schema of the
    # same name; this is that role's password.
    db_password: SecretStr = SecretStr("")
    uses_database: bool = True
    # Connections each process keeps, opened as needed. Beyond it the pool lends as many
    # again, but closes each on return: under load that is a new connection (a Postgres
    # backend forked, SCRAM, type introspection, every statement prepared again) per burst.
    # A worker's requests in flight, its inbox (up to two per topic) and relays share it.
    db_pool_size: int = Field(DB_POOL_SIZE, ge=1, le=100)
    # Kafka authenticates each service as the SASL/SCRAM user named after it (its rights:
    # sanad.shared.kafka_acls); Redis as the ACL user named after it (its keys: <service>:*).
    kafka_password: SecretStr = SecretStr("")
    uses_kafka: bool = True
    redis_password: SecretStr = SecretStr("")
    uses_redis: bool = False

    @property
    def db_role(self) -> str:
        return self.service

    @property
    def db_schema(self) -> str:
        return self.service

    @property
    def database_url(self) -> str:
        password = self.db_password.get_secret_value()
        return (
            f"postgresql+asyncpg://{self.db_role}:{password}"
            f"@{self.pg_host}:{self.pg_port}/{self.pg_database}"
        )

    @property
    def kafka(self) -> KafkaAccess:
        """How this service reaches Kafka: every client it makes goes through this."""
        credentials = KafkaCredentials(self.service, self.kafka_password.get_secret_value())
        return KafkaAccess(self.kafka_bootstrap_servers, credentials)

    @property
    def redis_username(self) -> str:
        return self.service

    def secret_fields(self) -> dict[str, SecretStr]:
        return {
            name: value
            for name in type(self).model_fields
            if isinstance(value := getattr(self, name), SecretStr)
        }

    @model_validator(mode="after")
    def _refuse_placeholders_outside_dev(self) -> ServiceSettings:
        if self.environment in ("dev", "test"):
            if self.uses_database and not self.db_password.get_secret_value():
                # The local platform gives each role this password (see provision.py).
                self.db_password = SecretStr(dev_db_password(self.service))
            # The local platform creates these users with these passwords.
            if not self.kafka_password.get_secret_value():
                self.kafka_password = SecretStr(dev_kafka_password(self.service))
            if not self.redis_password.get_secret_value():
                self.redis_password = SecretStr(dev_redis_password(self.service))
            return self
        unused = {
            "db_password": not self.uses_database,
            "kafka_password": not self.uses_kafka,
            "redis_password": not self.uses_redis,
        }
        bad = [
            name
            for name, secret in self.secret_fields().items()
            if not unused.get(name, False) and is_placeholder(secret.get_secret_value())
        ]
        if bad:
            prefix = self.model_config.get("env_prefix", "")
            names = ", ".join(f"{prefix}{name.upper()}" for name in bad)
            raise ValueError(f"missing or placeholder secret(s) outside dev: {names}")
        return self


def hot_path_workers() -> int:
    """Default worker processes of a service on the hot read path (gateway, profile,
    applications): one per core, at most 2 (a 2-core dev box runs every service at once)."""
    return min(2, os.cpu_count() or 1)


def service_config(service: str) -> SettingsConfigDict:
    """The settings config of one service: its variables are prefixed ``SANAD_<SERVICE>_``."""
    return SettingsConfigDict(
        env_prefix=f"SANAD_{service.upper()}_", extra="ignore", populate_by_name=True
    )


def dev_db_password(service: str) -> str:
    """The password the local platform gives a service's role (refused outside dev)."""
    return f"{service}-dev-password"


def dev_kafka_password(principal: str) -> str:
    """The SCRAM password the local platform gives a Kafka principal (refused outside dev)."""
    return f"{principal}-kafka-dev-password"


def dev_redis_password(user: str) -> str:
    """The password the local platform gives a Redis ACL user (refused outside dev)."""
    return f"{user}-redis-dev-password"


class PlatformSettings(BaseSettings):
    """The platform's own secrets (``./sanad``, the docker-compose init job, tests' admin
    fixtures): Kafka's admin principal — the broker's only super user — and Redis's admin
    user. No service is given them."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    environment: Environment = Field("prod", validation_alias="SANAD_ENV")
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092", validation_alias="SANAD_KAFKA_BOOTSTRAP_SERVERS"
    )
    kafka_admin_password: SecretStr = Field(
        SecretStr(""), validation_alias="SANAD_KAFKA_ADMIN_PASSWORD"
    )
    redis_admin_password: SecretStr = Field(
        SecretStr(""), validation_alias="SANAD_REDIS_ADMIN_PASSWORD"
    )

    @property
    def kafka_admin(self) -> KafkaCredentials:
        return KafkaCredentials(ADMIN_PRINCIPAL, self.kafka_admin_password.get_secret_value())

    @property
    def kafka(self) -> KafkaAccess:
        return KafkaAccess(self.kafka_bootstrap_servers, self.kafka_admin)

    @model_validator(mode="after")
    def _refuse_placeholders_outside_dev(self) -> PlatformSettings:
        if self.environment in ("dev", "test"):
            if not self.kafka_admin_password.get_secret_value():
                self.kafka_admin_password = SecretStr(dev_kafka_password(ADMIN_PRINCIPAL))
            if not self.redis_admin_password.get_secret_value():
                self.redis_admin_password = SecretStr(dev_redis_password(REDIS_ADMIN_USER))
            return self
        bad = [
            name
            for name, secret in (
                ("SANAD_KAFKA_ADMIN_PASSWORD", self.kafka_admin_password),
                ("SANAD_REDIS_ADMIN_PASSWORD", self.redis_admin_password),
            )
            if is_placeholder(secret.get_secret_value())
        ]
        if bad:
            raise ValueError(f"missing or placeholder secret(s) outside dev: {', '.join(bad)}")
        return self


REDIS_ADMIN_USER = "admin"
