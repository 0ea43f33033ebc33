"""The rule sets shipped with the service (one YAML file per program version); loaded into
the ``rule_sets`` table at start-up when their (program, version) is not there yet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent


def shipped() -> list[dict[str, Any]]:
    documents = []
    for path in sorted(HERE.glob("*.yaml")):
        with path.open(encoding="utf-8") as handle:
            documents.append(yaml.safe_load(handle))
    return documents
