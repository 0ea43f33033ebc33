"""Published event shapes are a contract: a change that breaks one must fail here."""

from __future__ import annotations

import json

import pytest

from sanad.shared.events import EVENT_MODELS
from sanad.shared.events.schemas import SCHEMA_DIR, current_schemas, render, schema_file
from sanad.shared.topics import EVENT_TOPICS


@pytest.mark.parametrize("path", sorted(SCHEMA_DIR.glob("*.json")), ids=lambda p: p.name)
def test_every_published_schema_is_unchanged(path) -> None:  # type: ignore[no-untyped-def]
    current = current_schemas()
    assert path in current, f"{path.name} was published but its model is gone"
    assert json.loads(path.read_text(encoding="utf-8")) == current[path], (
        f"{path.name} changed: published versions are frozen, add a new SCHEMA_VERSION instead"
    )


def test_every_event_version_has_an_exported_schema() -> None:
    for event_type, version in EVENT_MODELS:
        path = schema_file(event_type, version)
        assert path.exists(), (
            f"run `uv run python -m sanad.shared.events.schemas` to export {path.name}"
        )


def test_schema_files_are_rendered_canonically() -> None:
    for path, schema in current_schemas().items():
        if path.exists():
            assert path.read_text(encoding="utf-8") == render(schema)


def test_each_event_goes_to_a_declared_topic() -> None:
    assert {model.TOPIC for model in EVENT_MODELS.values()} == set(EVENT_TOPICS)
