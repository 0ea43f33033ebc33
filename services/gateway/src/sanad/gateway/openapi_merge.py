"""One OpenAPI document out of every service's. Pure: no I/O.

Each service keeps only the paths the gateway routes to it; its operationIds, tags and
component names are prefixed with the service name (``identity.login``), and every
``$ref`` is rewritten to match, so two services' ``HTTPValidationError`` never collide.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from sanad.gateway.routes import is_public, service_for
from sanad.shared.openapi import SECURITY_SCHEME, add_problem, install_components

OPENAPI_VERSION = "3.1.0"
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
# Security requirements name schemes directly (not by $ref), so these stay unprefixed.
UNPREFIXED_COMPONENTS = frozenset({"securitySchemes"})
# Shared by every service (sanad.shared.openapi): one copy, under its own name.
SHARED_SCHEMAS = frozenset({"Problem", "FieldError"})

Document = dict[str, Any]


def _rewrite_refs(node: Any, rename: Callable[[str], str]) -> Any:
    if isinstance(node, dict):
        return {
            key: rename(value)
            if key == "$ref" and isinstance(value, str)
            else _rewrite_refs(value, rename)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_refs(item, rename) for item in node]
    return node


def _ref_renamer(service: str) -> Callable[[str], str]:
    def rename(ref: str) -> str:
        parts = ref.split("/")
        # "#/components/<section>/<name>"
        if len(parts) == 4 and parts[:2] == ["#", "components"]:
            shared = parts[2] == "schemas" and parts[3] in SHARED_SCHEMAS
            if parts[2] not in UNPREFIXED_COMPONENTS and not shared:
                return f"#/components/{parts[2]}/{service}.{parts[3]}"
        return ref

    return rename


def _prefix_operations(service: str, item: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(item)
    for method, operation in item.items():
        if method not in HTTP_METHODS or not isinstance(operation, dict):
            continue
        operation = dict(operation)
        if "operationId" in operation:
            operation["operationId"] = f"{service}.{operation['operationId']}"
        operation["tags"] = [f"{service}.{tag}" for tag in operation.get("tags", [])] or [service]
        out[method] = operation
    return out


def _gateway_answers(path: str, item: dict[str, Any]) -> dict[str, Any]:
    """What the gateway itself may answer for every operation it forwards: 429 (rate
    limits), 503 (the service or Redis down), 504 (no answer in time), and — where it asks
    for a token — 401 with the bearer security requirement. A public route is public."""
    for method, operation in item.items():
        if method not in HTTP_METHODS or not isinstance(operation, dict):
            continue
        for status in (429, 503, 504):
            add_problem(operation, status)
        if is_public(method, path):
            operation.pop("security", None)
        else:
            operation["security"] = [{SECURITY_SCHEME: []}]
            add_problem(operation, 401)
    return item


def service_part(service: str, doc: Mapping[str, Any]) -> tuple[Document, Document]:
    """(paths, components) of one service's document, as the merged document holds them."""
    rename = _ref_renamer(service)
    paths = {
        path: _gateway_answers(path, _prefix_operations(service, _rewrite_refs(item, rename)))
        for path, item in doc.get("paths", {}).items()
        if service_for(path) == service
    }
    components: Document = {}
    for section, entries in doc.get("components", {}).items():
        if not isinstance(entries, dict):
            continue
        if section in UNPREFIXED_COMPONENTS:
            components[section] = copy.deepcopy(entries)
        else:
            components[section] = {
                (
                    name if section == "schemas" and name in SHARED_SCHEMAS else f"{service}.{name}"
                ): (_rewrite_refs(entry, rename))
                for name, entry in entries.items()
            }
    return paths, components


def merge(
    own: Mapping[str, Any],
    services: Mapping[str, Mapping[str, Any]],
    *,
    unavailable: list[str],
    title: str = "Sanad API",
    version: str = "1",
) -> Document:
    """The gateway's own paths (as they are) plus each available service's part."""
    merged: Document = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": title,
            "version": version,
            "description": "Every Sanad service behind one gateway. Services listed under "
            "x-unavailable did not answer and are left out.",
        },
        "paths": copy.deepcopy(dict(own.get("paths", {}))),
        "components": copy.deepcopy(dict(own.get("components", {}))),
        "x-services": sorted(services),
        "x-unavailable": sorted(unavailable),
    }
    tags: list[dict[str, str]] = []
    for service in sorted(services):
        paths, components = service_part(service, services[service])
        merged["paths"].update(paths)
        for section, entries in components.items():
            target = merged["components"].setdefault(section, {})
            for name, entry in entries.items():
                target.setdefault(name, entry)  # same-named security schemes: first wins
        tags.extend(
            {"name": tag}
            for tag in sorted(
                {
                    t
                    for item in paths.values()
                    for op in item.values()
                    if isinstance(op, dict)
                    for t in op.get("tags", [])
                }
            )
        )
    if tags:
        merged["tags"] = tags
    install_components(merged)
    merged["components"].setdefault("securitySchemes", {}).setdefault(
        SECURITY_SCHEME, {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    return merged
