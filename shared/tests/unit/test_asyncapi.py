from __future__ import annotations

from sanad.shared.events.asyncapi import OUTPUT, document, render
from sanad.shared.topics import EVENT_TOPICS, SUBSCRIPTIONS, dead_letter_topic


def test_the_checked_in_catalogue_is_current() -> None:
    assert OUTPUT.read_text(encoding="utf-8") == render(), (
        "docs/asyncapi.json is stale: run `uv run python -m sanad.shared.events.asyncapi`"
    )


def test_every_topic_producer_and_consumer_group_is_listed() -> None:
    doc = document()
    addresses = {channel["address"] for channel in doc["channels"].values()}
    assert set(EVENT_TOPICS) | {dead_letter_topic(g) for g in SUBSCRIPTIONS} == addresses
    receives = [op for op in doc["operations"].values() if op["action"] == "receive"]
    assert len(receives) == sum(len(topics) for topics in SUBSCRIPTIONS.values())
    assert "identity_publishes_identity_otp_requested" in doc["operations"]
    assert "notifications_consumes_identity_otp_requested" in doc["operations"]
