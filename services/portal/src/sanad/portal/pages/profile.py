"""The unified profile, section by section, with dependents and completeness.

Each section is one form; its controls are named by the API's field paths
(``sources.0.monthly_amount``), so the profile service's errors land beside them. Lists
(income sources, licenses, assets) show their rows plus two empty ones; an empty row is
left out. Writes send ``If-Match`` with the version the form was drawn from: a change made
meanwhile (another tab) is refused, not overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from sanad.portal.i18n import N_
from sanad.portal.pages.forms import checked, form_values
from sanad.portal.problems import from_response
from sanad.portal.security import check_csrf
from sanad.portal.web import SignInNeeded, redirect, render, session_of

router = APIRouter(dependencies=[Depends(check_csrf)])


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"  # text | select | bool | date | money | tristate
    options: str = ""  # a vocabulary group, for select
    required: bool = False
    hint: str = ""


@dataclass(frozen=True)
class Section:
    name: str
    fields: tuple[Field, ...] = ()
    rows: str = ""  # the list's key for sections that are lists of rows
    row_fields: tuple[Field, ...] = field(default_factory=tuple)


SECTIONS: dict[str, Section] = {
    "personal": Section(
        "personal",
        fields=(
            Field("marital_status", N_("Marital status"), "select", "marital_status", True),
            Field("has_disability", N_("Do you have a disability?"), "tristate", required=True),
            Field(
                "disability_type",
                N_("Type of disability"),
                "select",
                "disability_type",
                hint=N_("Only if you have a disability."),
            ),
            Field("is_orphan", N_("Are you an orphan?"), "tristate", required=True),
        ),
    ),
    "housing": Section(
        "housing",
        fields=(
            Field("region", N_("Region"), "select", "region", True),
            Field("city", N_("City"), required=True),
            Field("district", N_("District"), required=True),
            Field(
                "national_address",
                N_("Short national address"),
                required=True,
                hint=N_("4 letters and 4 digits, e.g. RRRD2929."),
            ),
            Field("housing_type", N_("Housing"), "select", "housing_type", True),
            Field(
                "monthly_rent",
                N_("Monthly rent (SAR)"),
                "money",
                hint=N_("Only if the home is rented."),
            ),
        ),
    ),
    "income": Section(
        "income",
        rows="sources",
        row_fields=(
            Field("type", N_("Type of income"), "select", "income_type"),
            Field("monthly_amount", N_("Monthly amount (SAR)"), "money"),
            Field("payer", N_("Employer or payer")),
        ),
    ),
    "education": Section(
        "education",
        fields=(
            Field(
                "highest_level", N_("Highest level of education"), "select", "education_level", True
            ),
        ),
    ),
    "employment": Section(
        "employment",
        fields=(
            Field("status", N_("Employment status"), "select", "employment_status", True),
            Field("employer", N_("Employer"), hint=N_("Only if you are employed.")),
            Field("since", N_("Since"), "date"),
        ),
    ),
    "licenses": Section(
        "licenses",
        rows="items",
        row_fields=(
            Field("kind", N_("Kind of license"), "select", "license_kind"),
            Field("number", N_("Number")),
            Field("type", N_("Activity or profession")),
            Field("active", N_("Active"), "bool"),
        ),
    ),
    "property": Section(
        "property",
        rows="assets",
        row_fields=(
            Field("kind", N_("Kind of property"), "select", "asset_kind"),
            Field("description", N_("Description")),
            Field("estimated_value", N_("Estimated value (SAR)"), "money"),
        ),
    ),
}
EMPTY_ROWS = 2


async def load_profile(request: Request) -> tuple[dict[str, Any] | None, Response | None]:
    session = session_of(request)
    await session.ensure_fresh()
    if session.role != "citizen":
        raise SignInNeeded()
    answer = await session.call("GET", "/v1/profile")
    if answer.status_code == 200:
        profile: dict[str, Any] = answer.json()
        return profile, None
    return None, render(
        request,
        "profile.html",
        status=answer.status_code,
        errors=from_response(answer),
        profile=None,
        sections=SECTIONS,
    )


def _tristate(value: str | None) -> bool | None:
    return {"true": True, "false": False}.get(value or "")


def section_body(section: Section, values: dict[str, str]) -> dict[str, Any]:
    """The PUT body from the submitted form."""
    if section.rows:
        rows: list[dict[str, Any]] = []
        index = 0
        while any(f"{section.rows}.{index}.{f.name}" in values for f in section.row_fields):
            row: dict[str, Any] = {}
            for f in section.row_fields:
                key = f"{section.rows}.{index}.{f.name}"
                row[f.name] = checked(values, key) if f.kind == "bool" else values.get(key, "")
            if any(v not in ("", False) for k, v in row.items()):
                for f in section.row_fields:  # leave an unfilled control out: "required"
                    if row[f.name] == "":
                        row.pop(f.name)
                rows.append(row)
            index += 1
        return {section.rows: rows}
    body: dict[str, Any] = {}
    for f in section.fields:
        raw = values.get(f.name, "")
        if f.kind == "tristate":
            body[f.name] = _tristate(raw)
        elif raw != "":
            body[f.name] = raw
        elif not f.required:
            body[f.name] = None
    return body


def form_values_of(section: Section, data: dict[str, Any] | None) -> dict[str, str]:
    """The section as the form's values (for drawing it)."""
    values: dict[str, str] = {}
    if not data:
        return values
    if section.rows:
        for index, row in enumerate(data.get(section.rows) or []):
            for f in section.row_fields:
                value = row.get(f.name)
                values[f"{section.rows}.{index}.{f.name}"] = (
                    ("true" if value else "")
                    if f.kind == "bool"
                    else ""
                    if value is None
                    else str(value)
                )
        return values
    for f in section.fields:
        value = data.get(f.name)
        if isinstance(value, bool):
            values[f.name] = "true" if value else "false"
        elif value is not None:
            values[f.name] = str(value)
    return values


def row_count(section: Section, values: dict[str, str]) -> int:
    index = 0
    while any(f"{section.rows}.{index}.{f.name}" in values for f in section.row_fields):
        index += 1
    return index


@router.get("/profile", response_class=HTMLResponse)
async def overview(request: Request) -> Response:
    profile, refused = await load_profile(request)
    if refused is not None:
        return refused
    return render(request, "profile.html", profile=profile, sections=SECTIONS, values={})


def _section_page(
    request: Request,
    section: Section,
    profile: dict[str, Any],
    values: dict[str, str],
    **kwargs: Any,
) -> Response:
    rows = row_count(section, values) + EMPTY_ROWS if section.rows else 0
    return render(
        request,
        "profile_section.html",
        section=section,
        profile=profile,
        values=values,
        rows=rows,
        **kwargs,
    )


@router.get("/profile/{name}", response_class=HTMLResponse)
async def section_page(request: Request, name: str) -> Response:
    section = SECTIONS.get(name)
    if section is None:
        return redirect("/profile")
    profile, refused = await load_profile(request)
    if refused is not None or profile is None:
        return refused or redirect("/profile")
    values = form_values_of(section, profile["sections"].get(name))
    if name == "personal":
        values.setdefault("nationality", profile["sections"]["personal"].get("nationality", ""))
    return _section_page(request, section, profile, values)


@router.post("/profile/{name}")
async def save_section(request: Request, name: str) -> Response:
    section = SECTIONS.get(name)
    if section is None:
        return redirect("/profile")
    values = await form_values(request)
    body = section_body(section, values)
    if name == "personal":  # read-only, sent back unchanged
        profile, refused = await load_profile(request)
        if refused is not None or profile is None:
            return refused or redirect("/profile")
        body["nationality"] = profile["sections"]["personal"]["nationality"]
    session = session_of(request)
    answer = await session.call(
        "PUT",
        f"/v1/profile/{name}",
        json=body,
        headers={"If-Match": f'"{values.get("version", "")}"'},
    )
    if answer.status_code == 200:
        return redirect("/profile?notice=saved")
    profile, refused = await load_profile(request)
    if refused is not None or profile is None:
        return refused or redirect("/profile")
    return _section_page(
        request,
        section,
        profile,
        values,
        status=answer.status_code,
        errors=from_response(answer),
    )


def dependent_body(values: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "full_name": values.get("full_name", ""),
        "national_id": values.get("national_id", ""),
        "relationship": values.get("relationship", ""),
        "has_disability": checked(values, "has_disability"),
        "monthly_income": values.get("monthly_income") or "0",
    }
    if values.get("disability_type"):
        body["disability_type"] = values["disability_type"]
    return body


@router.post("/profile/dependents/add")
async def add_dependent(request: Request) -> Response:
    values = await form_values(request)
    session = session_of(request)
    answer = await session.call("POST", "/v1/profile/dependents", json=dependent_body(values))
    if answer.status_code == 201:
        return redirect("/profile?notice=dependent_added#dependents")
    profile, refused = await load_profile(request)
    if refused is not None:
        return refused
    return render(
        request,
        "profile.html",
        status=answer.status_code,
        profile=profile,
        sections=SECTIONS,
        errors=from_response(answer),
        values=values,
    )


@router.post("/profile/dependents/{dependent_id}/remove")
async def remove_dependent(request: Request, dependent_id: str) -> Response:
    session = session_of(request)
    answer = await session.call("DELETE", f"/v1/profile/dependents/{dependent_id}")
    if answer.status_code == 204:
        return redirect("/profile?notice=dependent_removed#dependents")
    profile, refused = await load_profile(request)
    if refused is not None:
        return refused
    return render(
        request,
        "profile.html",
        status=answer.status_code,
        profile=profile,
        sections=SECTIONS,
        errors=from_response(answer),
    )
