"""The program catalog's shape: what a support program asks for and promises.

Programs are data: seeded by a migration, changed by admins through ``PUT /v1/programs``.
The eligibility rules themselves live in the eligibility service; ``conditions`` here are
their words for citizens.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from sanad.applications.domain.documents import DocumentFormat
from sanad.shared import text

Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
ProgramCode = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9-]{1,31}$")]
Text = text.FreeText
Name = text.Name


class Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Named(Strict):
    code: Code
    name_ar: Name
    name_en: Name


class Condition(Strict):
    text_ar: Text
    text_en: Text


class RequiredDocument(Strict):
    kind: Code
    name_ar: Name
    name_en: Name
    formats: list[DocumentFormat] = Field(min_length=1, max_length=3)
    mandatory: bool


class ProgramDefinition(Strict):
    """A program as an admin writes it (``PUT /v1/programs/{code}``)."""

    name_ar: Name
    name_en: Name
    description_ar: Text
    description_en: Text
    target_groups: list[Named] = Field(min_length=1, max_length=20)
    # Sub-programs a citizen applies under (Iraqi-style categories); empty: none to choose.
    categories: list[Named] = Field(default_factory=list, max_length=20)
    conditions: list[Condition] = Field(min_length=1, max_length=30)
    required_documents: list[RequiredDocument] = Field(max_length=20)
    # Cards are issued on approval without the citizen asking.
    card_on_approval: bool
    # How long a card issued for an approval in this program is valid (the cards service).
    card_validity_days: int = Field(365, ge=1, le=3650)
    appeal_window_days: int = Field(ge=1, le=365)
    completion_window_days: int = Field(ge=1, le=365)
    accepting_applications: bool = True

    @model_validator(mode="after")
    def _unique_codes(self) -> ProgramDefinition:
        for name, items in (
            ("required_documents", [d.kind for d in self.required_documents]),
            ("categories", [c.code for c in self.categories]),
            ("target_groups", [g.code for g in self.target_groups]),
        ):
            if len(set(items)) != len(items):
                raise ValueError(f"{name}: each code may appear once")
        return self

    def document(self, kind: str) -> RequiredDocument | None:
        return next((d for d in self.required_documents if d.kind == kind), None)

    @property
    def mandatory_documents(self) -> list[str]:
        return [d.kind for d in self.required_documents if d.mandatory]


class Program(ProgramDefinition):
    """A stored program: its code and how many times it was changed."""

    code: ProgramCode
    version: int = 1
