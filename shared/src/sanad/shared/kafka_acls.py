"""Who may do what on the bus: Kafka ACLs generated from ``sanad.shared.topics``.

- A service (its principal is its name) produces only its own event topics — those named
  ``<service>.…`` — and the dead-letter topics of its own consumer groups (``dlq.<group>…``,
  which it may also create: the inbox does at start-up).
- It consumes only the topics its group subscribes to in ``SUBSCRIPTIONS``, with group ids
  that start with its own name.
- ``audit`` reads and describes every topic and writes no event topic; its replay assigns
  partitions itself, so it needs no consumer group. Like every service it may write its own
  dead-letter topics (``dlq.audit…``, empty unless it consumes as a group): an idempotent
  producer — the outbox relay's — gets its producer id only with Write on some topic
  (KIP-679), and audit's relay starts like every service's.
- ``admin`` (the platform: topics, ACLs, dead-letter replays, tests' fixtures) is the broker's
  only super user and has no ACL here.

``sync_acls`` makes the broker's ACLs exactly these (it removes any others), idempotently.
aiokafka's admin client has no ACL calls, so it sends aiokafka's own CreateAcls, DescribeAcls
and DeleteAcls (v1) protocol structs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from aiokafka.protocol.admin import (
    CreateAclsRequest_v1,
    DeleteAclsRequest_v1,
    DescribeAclsRequest_v1,
)
from aiokafka.protocol.api import Request

from sanad.shared import kafka_clients
from sanad.shared.kafka_clients import ADMIN_PRINCIPAL, KafkaAccess
from sanad.shared.topics import EVENT_TOPICS, SUBSCRIPTIONS, dead_letter_topic

AUDIT_PRINCIPAL = "audit"


class Resource(IntEnum):  # Kafka's ResourceType codes
    ANY = 1
    TOPIC = 2
    GROUP = 3
    CLUSTER = 4
    TRANSACTIONAL_ID = 5
    DELEGATION_TOKEN = 6
    USER = 7


class Pattern(IntEnum):  # Kafka's PatternType codes
    ANY = 1
    LITERAL = 3
    PREFIXED = 4


class Operation(IntEnum):  # Kafka's AclOperation codes
    ANY = 1
    ALL = 2
    READ = 3
    WRITE = 4
    CREATE = 5
    DELETE = 6
    ALTER = 7
    DESCRIBE = 8
    CLUSTER_ACTION = 9
    DESCRIBE_CONFIGS = 10
    ALTER_CONFIGS = 11
    IDEMPOTENT_WRITE = 12
    CREATE_TOKENS = 13
    DESCRIBE_TOKENS = 14


ANY_PERMISSION = 1  # AclPermissionType
DENY = 2
ALLOW = 3
ANY_HOST = "*"
WILDCARD = "*"  # a LITERAL "*" resource means every resource of its type


@dataclass(frozen=True, order=True)
class Acl:
    principal: str  # a user name; the broker's principal is "User:<name>"
    resource: Resource
    name: str
    pattern: Pattern
    operation: Operation
    permission: int = ALLOW
    host: str = ANY_HOST

    def wire(self) -> tuple[int, str, int, str, str, int, int]:
        return (
            self.resource,
            self.name,
            self.pattern,
            f"User:{self.principal}",
            self.host,
            self.operation,
            self.permission,
        )


def producer_of(topic: str) -> str:
    """Event topics are named ``<producing service>.<event>``."""
    return topic.split(".", 1)[0]


def service_principals() -> tuple[str, ...]:
    """Every service that talks to Kafka: producers, consumer groups and audit."""
    names = {producer_of(topic) for topic in EVENT_TOPICS} | set(SUBSCRIPTIONS) | {AUDIT_PRINCIPAL}
    return tuple(sorted(names))


def produces(service: str) -> tuple[str, ...]:
    return tuple(topic for topic in EVENT_TOPICS if producer_of(topic) == service)


def desired_acls() -> set[Acl]:
    acls: set[Acl] = set()
    for topic in EVENT_TOPICS:
        for operation in (Operation.WRITE, Operation.DESCRIBE):
            acls.add(Acl(producer_of(topic), Resource.TOPIC, topic, Pattern.LITERAL, operation))
    for group, topics in SUBSCRIPTIONS.items():
        for topic in topics:
            for operation in (Operation.READ, Operation.DESCRIBE):
                acls.add(Acl(group, Resource.TOPIC, topic, Pattern.LITERAL, operation))
        acls.add(Acl(group, Resource.GROUP, group, Pattern.PREFIXED, Operation.READ))
    for service in (*SUBSCRIPTIONS, AUDIT_PRINCIPAL):
        for operation in (Operation.WRITE, Operation.DESCRIBE, Operation.CREATE):
            acls.add(
                Acl(
                    service, Resource.TOPIC, dead_letter_topic(service), Pattern.PREFIXED, operation
                )
            )
    for operation in (Operation.READ, Operation.DESCRIBE):
        acls.add(Acl(AUDIT_PRINCIPAL, Resource.TOPIC, WILDCARD, Pattern.LITERAL, operation))
    return acls


class _CreateAcls(Request[CreateAclsRequest_v1]):  # type: ignore[misc]  # aiokafka is untyped
    API_KEY = 30

    def __init__(self, acls: list[Acl]) -> None:
        self._acls = acls

    def build(self, request_struct_class: type[CreateAclsRequest_v1]) -> CreateAclsRequest_v1:
        return request_struct_class([acl.wire() for acl in self._acls])


class _DescribeAllAcls(Request[DescribeAclsRequest_v1]):  # type: ignore[misc]
    API_KEY = 29

    def build(self, request_struct_class: type[DescribeAclsRequest_v1]) -> DescribeAclsRequest_v1:
        return request_struct_class(
            Resource.ANY, None, Pattern.ANY, None, None, Operation.ANY, ANY_PERMISSION
        )


class _DeleteAcls(Request[DeleteAclsRequest_v1]):  # type: ignore[misc]
    API_KEY = 31

    def __init__(self, acls: list[Acl]) -> None:
        self._acls = acls

    def build(self, request_struct_class: type[DeleteAclsRequest_v1]) -> DeleteAclsRequest_v1:
        return request_struct_class([acl.wire() for acl in self._acls])


class AclSyncError(RuntimeError):
    pass


def _check(errors: list[tuple[int, str | None]], what: str) -> None:
    failed = [(code, message) for code, message in errors if code != 0]
    if failed:
        raise AclSyncError(f"{what} failed: {failed[:3]}")


async def current_acls(access: KafkaAccess) -> set[Acl]:
    client = kafka_clients.admin(access, client_id="sanad-acls")
    await client.start()
    try:
        response = await client._send_request(_DescribeAllAcls())
        _check([(response.error_code, response.error_message)], "DescribeAcls")
        return {
            Acl(
                principal.removeprefix("User:"),
                Resource(resource_type),
                name,
                Pattern(pattern),
                Operation(operation),
                permission,
                host,
            )
            for resource_type, name, pattern, entries in response.resources
            for principal, host, operation, permission in entries
        }
    finally:
        await client.close()


async def sync_acls(access: KafkaAccess) -> tuple[int, int]:
    """Make the broker's ACLs exactly ``desired_acls()``, as the admin. Returns (added,
    removed)."""
    if access.principal != ADMIN_PRINCIPAL:
        raise AclSyncError("ACLs are managed by the admin principal only")
    wanted = desired_acls()
    present = await current_acls(access)
    missing, extra = sorted(wanted - present), sorted(present - wanted)
    client = kafka_clients.admin(access, client_id="sanad-acls")
    await client.start()
    try:
        if missing:
            response = await client._send_request(_CreateAcls(missing))
            _check([(code, message) for code, message in response.creation_responses], "CreateAcls")
        if extra:
            response = await client._send_request(_DeleteAcls(extra))
            _check(
                [(code, message) for code, message, _ in response.filter_responses], "DeleteAcls"
            )
    finally:
        await client.close()
    return len(missing), len(extra)
