"""Which methods each documented path takes, from the merged OpenAPI document. Pure: no I/O.

The gateway answers 405 with the right ``Allow`` itself, before it asks for a token: a
client learns that ``DELETE /v1/profile`` does not exist, not that it lacks a token. Paths
no document mentions (a service that is down, say) are forwarded as before.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_PARAMETER = re.compile(r"\{[^}/]+\}")


def _template_regex(template: str) -> re.Pattern[str]:
    parts = _PARAMETER.split(template)
    return re.compile("[^/]+".join(re.escape(part) for part in parts) + "/?")


class OperationIndex:
    def __init__(self, document: Mapping[str, Any]) -> None:
        # (pattern, parameters in the template, methods)
        self._templates: list[tuple[re.Pattern[str], int, frozenset[str]]] = []
        for template, item in document.get("paths", {}).items():
            if not isinstance(item, dict):
                continue
            methods = frozenset(m.upper() for m in item if m in HTTP_METHODS)
            if methods:
                parameters = len(_PARAMETER.findall(template))
                self._templates.append((_template_regex(template), parameters, methods))

    def allowed(self, path: str) -> frozenset[str] | None:
        """The documented methods at ``path``, or None when no documented path matches.

        The most specific templates win (fewest parameters): ``/v1/cards/verify`` is its
        own path (POST), not a ``/v1/cards/{card_id}`` (GET)."""
        best: int | None = None
        found: set[str] = set()
        for pattern, parameters, methods in self._templates:
            if (best is None or parameters <= best) and pattern.fullmatch(path):
                if best is None or parameters < best:
                    best, found = parameters, set()
                found |= methods
        return frozenset(found) if best is not None else None
