"""The ACLs generated from topics.py: each service writes its own topics, reads its own
subscriptions with its own groups; audit reads everything and writes no event topic."""

from __future__ import annotations

from sanad.shared.kafka_acls import (
    AUDIT_PRINCIPAL,
    WILDCARD,
    Acl,
    Operation,
    Pattern,
    Resource,
    desired_acls,
    service_principals,
)
from sanad.shared.personal_data import PERSONAL_DATA, readers
from sanad.shared.topics import (
    CITIZEN_REGISTERED,
    CONTACT_CHANGED,
    EVENT_TOPICS,
    OTP_REQUESTED,
    PROFILE_UPDATED,
    SUBSCRIPTIONS,
)


def rights(principal: str, operation: Operation) -> set[tuple[Resource, str, Pattern]]:
    return {
        (acl.resource, acl.name, acl.pattern)
        for acl in desired_acls()
        if acl.principal == principal and acl.operation == operation
    }


def test_every_service_that_touches_kafka_is_a_principal() -> None:
    assert service_principals() == (
        "applications",
        "audit",
        "cards",
        "eligibility",
        "identity",
        "notifications",
        "profile",
    )


def test_a_service_writes_only_its_own_topics_and_its_dead_letters() -> None:
    assert rights("profile", Operation.WRITE) == {
        (Resource.TOPIC, PROFILE_UPDATED, Pattern.LITERAL),
        (Resource.TOPIC, CONTACT_CHANGED, Pattern.LITERAL),
        (Resource.TOPIC, "dlq.profile", Pattern.PREFIXED),
    }
    writers_of_citizen_registered = {
        acl.principal
        for acl in desired_acls()
        if acl.name == CITIZEN_REGISTERED and acl.operation == Operation.WRITE
    }
    assert writers_of_citizen_registered == {"identity"}


def test_a_service_reads_only_its_subscriptions_with_groups_named_after_it() -> None:
    for group, topics in SUBSCRIPTIONS.items():
        assert rights(group, Operation.READ) == {
            *((Resource.TOPIC, topic, Pattern.LITERAL) for topic in topics),
            (Resource.GROUP, group, Pattern.PREFIXED),
        }
    assert rights("identity", Operation.READ) == set()


def test_audit_reads_every_topic_and_writes_no_event_topic() -> None:
    assert rights(AUDIT_PRINCIPAL, Operation.READ) == {(Resource.TOPIC, WILDCARD, Pattern.LITERAL)}
    assert rights(AUDIT_PRINCIPAL, Operation.WRITE) == {
        (Resource.TOPIC, "dlq.audit", Pattern.PREFIXED)
    }


def test_no_principal_gets_cluster_rights_or_all_operations() -> None:
    assert not [
        acl
        for acl in desired_acls()
        if acl.resource == Resource.CLUSTER or acl.operation == Operation.ALL
    ]
    assert Acl("x", Resource.TOPIC, "t", Pattern.LITERAL, Operation.READ).wire()[3] == "User:x"


def test_every_topic_says_what_personal_data_it_holds_and_who_reads_it() -> None:
    assert set(PERSONAL_DATA) == set(EVENT_TOPICS)
    assert readers(OTP_REQUESTED) == ("notifications", "audit", "admin")


def test_only_notifications_may_read_the_contact_topic() -> None:
    readers_of_contacts = {
        acl.principal
        for acl in desired_acls()
        if acl.name == CONTACT_CHANGED and acl.operation == Operation.READ
    }
    assert readers_of_contacts == {"notifications"}
