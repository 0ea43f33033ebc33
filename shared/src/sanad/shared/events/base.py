"""Building blocks shared by the event payloads."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Language = Literal["ar", "en"]


class Part(BaseModel):
    """A value nested in a payload: frozen, and strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")
