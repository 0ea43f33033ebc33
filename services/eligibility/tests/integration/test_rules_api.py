"""The API on the real database: rules in words, publishing (and refusing) versions, the
check before applying, simulations and the policy impact simulation."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sanad.eligibility.domain.evaluation import policy_date
from sanad.eligibility.rulesets import shipped
from sanad.shared.auth import Role

from .conftest import World


def today() -> str:
    return policy_date(datetime.now(UTC)).isoformat()


def ssp_document() -> dict[str, Any]:
    document = copy.deepcopy(next(d for d in shipped() if d["program"] == "SSP-DEV"))
    # as JSON carries it: dates as strings
    document["effective_from"] = document["effective_from"].isoformat()
    for parameter in document["parameters"].values():
        parameter["values"] = {k.isoformat(): v for k, v in parameter["values"].items()}
    return document


def trial_program(program: str, *, limit: str, version: str) -> dict[str, Any]:
    """A one-criterion program: household income at or under ``limit``."""
    return {
        "program": program,
        "version": version,
        "effective_from": today(),
        "title_ar": "برنامج تجريبي",
        "title_en": "Test program",
        "parameters": {
            "limit": {
                "type": "money",
                "label_ar": "الحد",
                "label_en": "limit",
                "values": {today(): limit},
            }
        },
        "criteria": [
            {
                "code": "income",
                "policy_reference": "test §1",
                "expression": "household_income <= limit",
                "observed": {"expression": "household_income", "type": "money"},
                "required": {"expression": "limit", "type": "money", "op": "<="},
                "reasons": {
                    "passed": {
                        "ar": "الدخل {observed} ضمن {required}",
                        "en": "income {observed} within {required}",
                    },
                    "failed": {
                        "ar": "الدخل {observed} فوق {required}",
                        "en": "income {observed} over {required}",
                    },
                },
            }
        ],
        "benefit": {"expression": "limit - household_income"},
    }


async def publish_test_program(world: World, program: str, *, limit: str, version: str) -> None:
    response = await world.client.post(
        f"/v1/eligibility/rules/{program}",
        json=trial_program(program, limit=limit, version=version),
        headers=world.headers(Role.ADMIN),
    )
    assert response.status_code == 201, response.text


async def test_rules_in_words_with_parameters_by_date(world: World) -> None:
    response = await world.client.get(
        "/v1/eligibility/rules/SSP-DEV", headers=world.headers(Role.CITIZEN)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["in_force"] == "2025.1"
    [version] = [v for v in body["versions"] if v["version"] == "2025.1"]
    assert version["in_force"] is True
    threshold = next(p for p in version["parameters"] if p["name"] == "head_threshold")
    assert threshold["values"] == [{"from": "2025-01-01", "value": "1100"}]
    income = next(c for c in version["criteria"] if c["code"] == "household_income")
    assert income["when_failed"]["en"].startswith("Household income {observed} exceeds")
    unknown = await world.client.get(
        "/v1/eligibility/rules/NOPE", headers=world.headers(Role.CITIZEN)
    )
    assert unknown.status_code == 404
    assert unknown.json()["errors"][0]["field"] == "path.program"


async def test_a_broken_version_is_refused_naming_the_location_and_nothing_is_stored(
    world: World,
) -> None:
    program = f"T-{uuid.uuid4().hex[:8].upper()}"
    document = trial_program(program, limit="1000", version="1")
    document["criteria"][0]["expression"] = "household_incom <= limit"
    document["criteria"][0]["reasons"]["failed"]["ar"] = ""
    response = await world.client.post(
        f"/v1/eligibility/rules/{program}", json=document, headers=world.headers(Role.ADMIN)
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert errors == {
        "body.criteria[0].expression": "unknown fact or parameter 'household_incom'",
        "body.criteria[0].reasons.failed.ar": "missing translation",
    }
    syntax = trial_program(program, limit="1000", version="1")
    syntax["criteria"][0]["expression"] = "household_income <="
    response = await world.client.post(
        f"/v1/eligibility/rules/{program}", json=syntax, headers=world.headers(Role.ADMIN)
    )
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "body.criteria[0].expression"
    assert error["code"] == "syntax_error"
    assert (
        await world.scalar(
            "SELECT count(*) FROM eligibility.rule_sets WHERE program_code = :p", p=program
        )
        == 0
    )


async def test_publishing_rules(world: World) -> None:
    program = f"T-{uuid.uuid4().hex[:8].upper()}"
    admin = world.headers(Role.ADMIN)
    for role in (Role.CITIZEN, Role.CASEWORKER, Role.AUDITOR):
        refused = await world.client.post(
            f"/v1/eligibility/rules/{program}",
            json=trial_program(program, limit="1000", version="1"),
            headers=world.headers(role),
        )
        assert refused.status_code == 403
    await publish_test_program(world, program, limit="1000", version="1")
    again = await world.client.post(
        f"/v1/eligibility/rules/{program}",
        json=trial_program(program, limit="2000", version="1"),
        headers=admin,
    )
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "body.version"
    past = trial_program(program, limit="2000", version="2")
    yesterday = (policy_date(datetime.now(UTC)) - timedelta(days=1)).isoformat()
    past["effective_from"] = yesterday
    past["parameters"]["limit"]["values"] = {yesterday: "2000"}
    refused = await world.client.post(f"/v1/eligibility/rules/{program}", json=past, headers=admin)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "body.effective_from"
    wrong = await world.client.post(
        f"/v1/eligibility/rules/{program}",
        json=trial_program("OTHER", limit="1", version="3"),
        headers=admin,
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "body.program"
    not_object = await world.client.post(
        f"/v1/eligibility/rules/{program}", json=[1], headers=admin
    )
    assert not_object.status_code == 422
    # The same day, the later publication is in force.
    await publish_test_program(world, program, limit="1500", version="2")
    listed = (await world.client.get(f"/v1/eligibility/rules/{program}", headers=admin)).json()
    assert listed["in_force"] == "2"
    assert [v["version"] for v in listed["versions"]] == ["1", "2"]


async def test_the_check_before_applying(world: World) -> None:
    citizen = uuid.uuid4()
    kept = await world.profile(citizen, income="1000.00", children=2)
    headers = world.headers(Role.CITIZEN, str(citizen))
    response = await world.client.get("/v1/eligibility/check?program=SSP-DEV", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["outcome"], body["profile_version"]) == ("eligible", kept["version"])
    assert body["monthly_benefit"] == "1200.00"
    statuses = {c["code"]: c["status"] for c in body["criteria"]}
    assert statuses["documents"] == "not_applicable"
    assert statuses["household_income"] == "passed"
    bad = await world.client.get("/v1/eligibility/check?program=ssp", headers=headers)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "query.program"
    unknown = await world.client.get("/v1/eligibility/check?program=NOPE", headers=headers)
    assert unknown.status_code == 404
    staff = await world.client.get(
        "/v1/eligibility/check?program=SSP-DEV", headers=world.headers(Role.CASEWORKER)
    )
    assert staff.status_code == 403
    stranger = await world.client.get(
        "/v1/eligibility/check?program=SSP-DEV", headers=world.headers(Role.CITIZEN)
    )
    assert stranger.status_code == 409


async def test_simulation(world: World) -> None:
    caseworker = world.headers(Role.CASEWORKER)
    facts = {
        "nationality": "SA",
        "marital_status": "married",
        "citizen_children": 0,
        "resides_in_country": True,
        "property_value": "0",
        "household_income": "4200.00",
        "dependents": 5,
        "active_programs": [],
        "form_income": "4200.00",
        "documents": ["national_id", "family_register", "proof_of_income", "bank_account"],
    }
    response = await world.client.post(
        "/v1/eligibility/simulate",
        json={"program": "SSP-DEV", "facts": facts},
        headers=caseworker,
    )
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "ineligible"
    cheaper = await world.client.post(
        "/v1/eligibility/simulate",
        json={
            "program": "SSP-DEV",
            "version": "2025.1",
            "on": "2025-06-01",
            "facts": facts | {"household_income": "3850.00", "form_income": "3850.00"},
        },
        headers=caseworker,
    )
    assert cheaper.json()["outcome"] == "eligible"
    bad = await world.client.post(
        "/v1/eligibility/simulate",
        json={"program": "SSP-DEV", "facts": {"household_income": 4200.5, "salary": 1}},
        headers=caseworker,
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {
        "body.facts.household_income",
        "body.facts.salary",
    }
    no_version = await world.client.post(
        "/v1/eligibility/simulate",
        json={"program": "SSP-DEV", "version": "1999", "facts": {}},
        headers=caseworker,
    )
    assert no_version.status_code == 404
    assert no_version.json()["errors"][0]["field"] == "body.version"
    citizen = await world.client.post(
        "/v1/eligibility/simulate",
        json={"program": "SSP-DEV", "facts": {}},
        headers=world.headers(Role.CITIZEN),
    )
    assert citizen.status_code == 403


async def test_the_impact_of_a_draft_over_the_known_households(world: World) -> None:
    program = f"T-{uuid.uuid4().hex[:8].upper()}"
    await publish_test_program(world, program, limit="1000", version="1")
    # Citizens whose ids sort together after a cursor of this run: the page is exactly them.
    run = uuid.uuid4().hex[:4]
    citizens = [uuid.UUID(f"ffffffff-{run}-4000-8000-{n:012d}") for n in range(4)]
    incomes = ["500.00", "1000.00", "1500.00", "2500.00"]
    for citizen, income in zip(citizens, incomes, strict=True):
        await world.profile(citizen, income=income, children=0)
    draft = trial_program(program, limit="2000", version="2")
    after = f"ffffffff-{run}-0000-0000-000000000000"
    response = await world.client.post(
        f"/v1/eligibility/rules/{program}/impact?after={after}&limit=4",
        json=draft,
        headers=world.headers(Role.AUDITOR),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["baseline"], body["draft"], body["households"]) == (
        f"{program}@1",
        f"{program}@2",
        4,
    )
    assert (body["gained"], body["lost"], body["kept"], body["still_not_eligible"]) == (1, 0, 2, 1)
    assert body["gained_citizens"] == [str(citizens[2])]
    assert body["benefit_total_before"] == "500.00"  # 500 + 0
    assert body["benefit_total_after"] == "3000.00"  # 1500 + 1000 + 500
    assert body["criteria"]["income"] == {
        "failed_before": 2,
        "failed_after": 1,
        "now_failing": 0,
        "now_passing": 1,
    }
    assert body["next_after"] == str(citizens[3])
    # Nothing changed: the draft is not published.
    assert (
        await world.scalar(
            "SELECT count(*) FROM eligibility.rule_sets WHERE program_code = :p", p=program
        )
        == 1
    )
    refused = await world.client.post(
        f"/v1/eligibility/rules/{program}/impact",
        json=draft,
        headers=world.headers(Role.CASEWORKER),
    )
    assert refused.status_code == 403
    broken = await world.client.post(
        f"/v1/eligibility/rules/{program}/impact",
        json=draft | {"benefit": {"expression": "limit -"}},
        headers=world.headers(Role.ADMIN),
    )
    assert broken.status_code == 422
    assert broken.json()["errors"][0]["field"] == "body.benefit.expression"
