"""Reading a submitted form: text values, trimmed, and the values shown back on a refusal."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile

from sanad.portal.security import CSRF_FIELD


async def form_values(request: Request) -> dict[str, str]:
    """Every text field but the CSRF token, trimmed (files are left out)."""
    form = await request.form()
    return {
        key: value.strip()
        for key, value in form.multi_items()
        if isinstance(value, str) and key != CSRF_FIELD
    }


async def upload(request: Request, name: str) -> UploadFile | None:
    value = (await request.form()).get(name)
    return value if isinstance(value, UploadFile) and value.filename else None


def blank_to_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: (None if value == "" else value) for key, value in values.items()}


def checked(values: dict[str, str], name: str) -> bool:
    return values.get(name) in ("true", "on", "1")
