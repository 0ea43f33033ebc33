"""The AsyncAPI 3 catalogue of every topic, message, producer and consumer group.

Generated from the event models and ``topics.SUBSCRIPTIONS``, so it cannot drift: a unit test
compares it with the checked-in ``docs/asyncapi.json``. Regenerate with
``uv run python -m sanad.shared.events.asyncapi``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sanad.shared.events.catalog import EVENT_MODELS
from sanad.shared.events.envelope import Envelope, Event
from sanad.shared.personal_data import description
from sanad.shared.topics import SUBSCRIPTIONS, dead_letter_topic

OUTPUT = Path(__file__).resolve().parents[5] / "docs" / "asyncapi.json"
HEADERS = {
    "type": "object",
    "properties": {
        name: {"type": "string"}
        for name in ("event_id", "event_type", "schema_version", "producer", "correlation_id")
    },
}


def _producer(model: type[Event]) -> str:
    return model.__module__.rsplit(".", 1)[1]


def _message_name(model: type[Event]) -> str:
    return f"{model.EVENT_TYPE}.v{model.SCHEMA_VERSION}"


def _channel_id(topic: str) -> str:
    return topic.replace(".", "_").replace("-", "_")


def document() -> dict[str, Any]:
    models = sorted(EVENT_MODELS.values(), key=_message_name)
    messages = {
        _message_name(model): {
            "name": model.EVENT_TYPE,
            "title": f"{model.EVENT_TYPE} (schema version {model.SCHEMA_VERSION})",
            "summary": (model.__doc__ or model.EVENT_TYPE).strip().splitlines()[0],
            "contentType": "application/json",
            "headers": HEADERS,
            "payload": {
                "description": "The Sanad envelope; `payload` holds the event below.",
                "allOf": [
                    Envelope.model_json_schema(mode="serialization"),
                    {"properties": {"payload": model.model_json_schema(mode="serialization")}},
                ],
            },
            "x-key": "the aggregate id (Kafka key): one aggregate's events stay in order",
        }
        for model in models
    }
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for model in models:
        channel = _channel_id(model.TOPIC)
        channels.setdefault(
            channel,
            {"address": model.TOPIC, "description": description(model.TOPIC), "messages": {}},
        )
        channels[channel]["messages"][_message_name(model)] = {
            "$ref": f"#/components/messages/{_message_name(model)}"
        }
        operations[f"{_producer(model)}_publishes_{channel}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel}"},
            "summary": f"{_producer(model)} publishes through its transactional outbox",
        }
    for group, topics in sorted(SUBSCRIPTIONS.items()):
        for topic in topics:
            channel = _channel_id(topic)
            operations[f"{group}_consumes_{channel}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{channel}"},
                "summary": f"consumer group `{group}`, effectively once (processed-events table)",
            }
        dlq = dead_letter_topic(group)
        channels[_channel_id(dlq)] = {
            "address": dlq,
            "description": (
                f"Messages `{group}` could not process, with dlq_* error headers: the "
                "personal data of the topics it consumes. Readable by: audit, admin."
            ),
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Sanad events",
            "version": "1",
            "description": (
                "Every topic is kept forever (retention.ms=-1), 6 partitions. Every client "
                "authenticates (SASL/SCRAM-SHA-512, one principal per service); ACLs let a "
                "service write only its own topics and read only its subscriptions."
            ),
        },
        "servers": {
            "local": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "security": [{"$ref": "#/components/securitySchemes/scram"}],
            }
        },
        "channels": dict(sorted(channels.items())),
        "operations": dict(sorted(operations.items())),
        "components": {
            "messages": messages,
            "securitySchemes": {
                "scram": {
                    "type": "scramSha512",
                    "description": "The service's own user; see sanad.shared.kafka_acls.",
                }
            },
        },
    }


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    OUTPUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUTPUT}")
