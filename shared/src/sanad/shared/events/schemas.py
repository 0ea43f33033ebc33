"""Export and check the JSON Schemas of every event version (``shared/schemas``).

``python -m sanad.shared.events.schemas`` writes schemas of versions not yet exported and
refuses to overwrite a published one that changed: a new shape needs a new version.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from sanad.shared.events.catalog import EVENT_MODELS
from sanad.shared.events.envelope import Envelope

SCHEMA_DIR = Path(__file__).resolve().parents[4] / "schemas"


def schema_file(event_type: str, version: int) -> Path:
    return SCHEMA_DIR / f"{event_type}.v{version}.json"


def current_schemas() -> dict[Path, dict[str, Any]]:
    found = {
        schema_file(event_type, version): model.model_json_schema(mode="serialization")
        for (event_type, version), model in EVENT_MODELS.items()
    }
    found[SCHEMA_DIR / "Envelope.v1.json"] = Envelope.model_json_schema(mode="serialization")
    return found


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> int:
    SCHEMA_DIR.mkdir(exist_ok=True)
    status = 0
    for path, schema in current_schemas().items():
        text = render(schema)
        if not path.exists():
            path.write_text(text, encoding="utf-8")
            print(f"exported {path.name}")
        elif path.read_text(encoding="utf-8") != text:
            print(f"REFUSED {path.name}: a published version changed; add a new version")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
