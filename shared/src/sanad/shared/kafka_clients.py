"""Every Kafka client Sanad makes — the services' relays and consumers, the platform's admin,
tests and benchmarks — is built here, so every one of them authenticates.

The broker accepts only SASL/SCRAM-SHA-512 (see ``deploy/kafka/server.properties.template``);
each service is its own principal (the user named after it), the platform is ``admin``.
What each principal may do is in ``sanad.shared.kafka_acls``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

SASL_MECHANISM = "SCRAM-SHA-512"
SECURITY_PROTOCOL = "SASL_PLAINTEXT"
ADMIN_PRINCIPAL = "admin"


@dataclass(frozen=True)
class KafkaCredentials:
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class KafkaAccess:
    """Where the broker is and who connects. ``credentials=None`` connects anonymously, which
    the broker refuses: only tests that prove so use it."""

    bootstrap_servers: str
    credentials: KafkaCredentials | None

    @property
    def principal(self) -> str | None:
        return None if self.credentials is None else self.credentials.username

    def options(self) -> dict[str, Any]:
        """The keyword arguments every aiokafka client takes to reach and log in to Kafka."""
        if self.credentials is None:
            return {"bootstrap_servers": self.bootstrap_servers}
        return {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": SECURITY_PROTOCOL,
            "sasl_mechanism": SASL_MECHANISM,
            "sasl_plain_username": self.credentials.username,
            "sasl_plain_password": self.credentials.password,
        }


def producer(access: KafkaAccess, **options: Any) -> AIOKafkaProducer:
    return AIOKafkaProducer(**access.options(), **options)


def consumer(access: KafkaAccess, *topics: str, **options: Any) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(*topics, **access.options(), **options)


def admin(access: KafkaAccess, **options: Any) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(**access.options(), **options)
