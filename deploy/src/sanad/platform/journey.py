"""A citizen's journey through the running platform, as a front end and a citizen see it.

One place for the steps the end-to-end tests, ``./sanad demo`` and the load benchmark all
take: a synthetic person in the civil registry, registration with the code read from the
SMS sink, sign-in, the profile, the eligibility check, an application with its documents,
its submission, and what comes back (the status, the SMS and the email, the card). Only the
gateway's HTTP API is used, plus the SMS sink and the mail catcher to read what a citizen
receives; the civil registry and staff accounts are filled by the code of identity's
operator commands, in process (a command per person would start a Python each time). A step
that gets an unexpected answer raises :class:`JourneyError` with it.
"""

from __future__ import annotations

import asyncio
import io
import os
import random
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sanad.platform.services import platform_env
from sanad.platform.testing import eventually
from sanad.shared.db import engine_for, session_factory
from sanad.shared.national_id import luhn_valid

PDF = b"%PDF-1.4\n% a scanned document\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x00" * 128
DOCUMENTS = ("national_id", "family_register", "proof_of_income", "bank_account")
IBAN = "SA03 8000 0000 6080 1016 7519"

# Every profile section, for a household in Riyadh (income given separately).
SECTIONS: dict[str, dict[str, Any]] = {
    "personal": {
        "marital_status": "widowed",
        "nationality": "SA",
        "has_disability": False,
        "is_orphan": False,
    },
    "housing": {
        "region": "riyadh",
        "city": "Riyadh",
        "district": "Al Olaya",
        "national_address": "RRRD2929",
        "housing_type": "rented",
        "monthly_rent": "1500",
    },
    "education": {"highest_level": "secondary"},
    "employment": {"status": "employed", "employer": "Gulf Trading Co", "since": "2019-09-01"},
    "licenses": {"items": []},
    "property": {
        "assets": [
            {"kind": "vehicle", "description": "Hyundai Accent 2016", "estimated_value": "18000"}
        ]
    },
}


class RetryAfter(httpx.AsyncBaseTransport):
    """Honours a short ``429`` + ``Retry-After`` as a well-behaved client does: several
    people signing in at once from one address meet identity's per-address bound on
    concurrent sign-ins, which asks them to come back in a second. A request that may meet
    a longer wait it expects (a code's resend cooldown) says so in its ``retry_after_longest``
    extension."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *, tries: int = 5, longest: float = 5.0):
        self._inner, self._tries, self._longest = inner, tries, longest

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        longest = float(request.extensions.get("retry_after_longest", self._longest))
        for _ in range(self._tries - 1):
            response = await self._inner.handle_async_request(request)
            delay = response.headers.get("retry-after", "")
            if response.status_code != 429 or not delay.isdigit() or int(delay) > longest:
                return response
            await response.aclose()
            await asyncio.sleep(int(delay))  # the server's own answer to "when": not a guess
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


class JourneyError(AssertionError):
    """A step got an answer a working platform does not give."""


def expect(response: httpx.Response, *statuses: int) -> httpx.Response:
    if response.status_code not in statuses:
        raise JourneyError(
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code}, expected {statuses}: {response.text[:500]}"
        )
    return response


def salary(amount: str) -> dict[str, Any]:
    """The income section: one salary."""
    return {"sources": [{"type": "salary", "monthly_amount": amount, "payer": "Gulf Trading Co"}]}


def new_national_id() -> str:
    """A fresh citizen ID (starts with 1, Luhn check digit)."""
    body = "1" + "".join(random.choices("0123456789", k=8))
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


def new_mobile() -> str:
    return f"+96655{random.randrange(10**7):07d}"


@dataclass(frozen=True)
class Person:
    """Someone in the civil registry."""

    national_id: str
    name_en: str
    name_ar: str
    birth_date: str
    sex: str = "F"
    marital_status: str = "widowed"
    nationality: str = "SA"
    mobile: str | None = None
    relative_of: str | None = None
    relationship: str | None = None


def _identity_settings() -> Any:
    from sanad.identity.settings import IdentitySettings

    env = platform_env()
    return IdentitySettings(pg_host=env["SANAD_PG_HOST"], pg_port=int(env["SANAD_PG_PORT"]))


async def add_to_registry(*people: Person) -> None:
    """Put ``people`` in identity's civil registry in one transaction, as its operator
    command ``add-registry-record`` does (in process: a command per person would start a
    Python each time)."""
    from sanad.identity.adapters.civil_registry import TableCivilRegistry
    from sanad.identity.domain.registry import CivilRecord, Relation

    settings = _identity_settings()
    records = [
        CivilRecord.parse(
            {
                "national_id": p.national_id,
                "full_name_ar": p.name_ar,
                "full_name_en": p.name_en,
                "nationality": p.nationality,
                "sex": p.sex,
                "birth_date": p.birth_date,
                "marital_status": p.marital_status,
                "mobiles": p.mobile or "",
            }
        )
        for p in people
    ]
    relations = [
        Relation(p.relative_of, p.national_id, p.relationship)  # type: ignore[arg-type]
        for p in people
        if p.relative_of
    ]
    engine = engine_for(settings)
    try:
        async with session_factory(engine, producer=settings.service)() as session, session.begin():
            registry = TableCivilRegistry(session)
            await registry.add(records, replace=False)
            if relations and (problems := await registry.relate(relations)):
                raise JourneyError("; ".join(problems))
    finally:
        await engine.dispose()


@dataclass
class Citizen:
    """A registered citizen, signed in."""

    id: str
    person: Person
    mobile: str
    email: str | None
    language: str
    headers: dict[str, str] = field(repr=False)


class Platform:
    """HTTP clients of the gateway, the SMS sink and the mail catcher of the running
    platform (the ports of ``./sanad up``, or ``SANAD_GATEWAY_URL`` …)."""

    def __init__(self, *, timeout: float = 20.0, wait: float = 30.0) -> None:
        env = platform_env()
        self.env = env
        self.wait = wait  # how long to wait for what the platform does asynchronously
        self.api = httpx.AsyncClient(
            base_url=os.environ.get("SANAD_GATEWAY_URL") or env["SANAD_GATEWAY_URL"],
            timeout=timeout,
            transport=RetryAfter(httpx.AsyncHTTPTransport()),
        )
        self.sms = httpx.AsyncClient(
            base_url=os.environ.get("SANAD_SMS_BASE_URL") or env["SANAD_SMS_BASE_URL"],
            timeout=timeout,
        )
        self.mail = httpx.AsyncClient(
            base_url=os.environ.get("SANAD_MAIL_API_URL") or env["SANAD_MAIL_API_URL"],
            timeout=timeout,
        )

    async def __aenter__(self) -> Platform:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for client in (self.api, self.sms, self.mail):
            await client.aclose()

    # -- what a citizen receives --------------------------------------------------------

    async def sms_to(
        self,
        mobile: str,
        until: Callable[[list[dict[str, Any]]], bool] = bool,
        what: str = "an SMS",
    ) -> list[dict[str, Any]]:
        """Every SMS the sink received for ``mobile``, once ``until`` holds."""

        async def received() -> list[dict[str, Any]]:
            response = expect(await self.sms.get("/messages", params={"to": mobile}), 200)
            messages: list[dict[str, Any]] = response.json()["messages"]
            return messages

        return await eventually(
            received, until=until, timeout=self.wait, what=f"{what} to {mobile}"
        )

    async def mail_to(
        self,
        address: str,
        until: Callable[[list[dict[str, Any]]], bool] = bool,
        what: str = "an email",
    ) -> list[dict[str, Any]]:
        """Every email the catcher received for ``address``, once ``until`` holds."""

        async def received() -> list[dict[str, Any]]:
            response = expect(await self.mail.get("/messages", params={"to": address}), 200)
            messages: list[dict[str, Any]] = response.json()["messages"]
            return messages

        return await eventually(
            received, until=until, timeout=self.wait, what=f"{what} to {address}"
        )

    async def otp(self, mobile: str, count: int = 1) -> str:
        """The code in the ``count``-th SMS to ``mobile``."""
        messages = await self.sms_to(
            mobile, until=lambda m: len(m) >= count, what="the verification code"
        )
        found = re.search(r"\d{6}", messages[count - 1]["body"])
        if not found:
            raise JourneyError(f"no code in {messages[count - 1]['body']!r}")
        return found.group()

    # -- registration and sign-in -------------------------------------------------------

    async def register(
        self, person: Person, *, email: str | None = None, language: str = "ar"
    ) -> Citizen:
        """Register ``person`` (already in the registry, with a mobile): the code from the
        SMS sink, verify, sign in."""
        if person.mobile is None:
            raise JourneyError("a citizen registers with a mobile registered to them")
        password = f"Journey-{uuid.uuid4().hex[:10]}!"
        body: dict[str, Any] = {
            "national_id": person.national_id,
            "date_of_birth": person.birth_date,
            "mobile": person.mobile,
            "password": password,
            "preferred_language": language,
        }
        if email:
            body["email"] = email
        started = expect(await self.api.post("/v1/auth/register", json=body), 202)
        code = await self.otp(person.mobile)
        verified = expect(
            await self.api.post(
                "/v1/auth/register/verify",
                json={"registration_id": started.json()["registration_id"], "code": code},
            ),
            201,
        )
        headers = await self.login(person.national_id, password)
        return Citizen(
            verified.json()["citizen_id"], person, person.mobile, email, language, headers
        )

    async def login(self, national_id: str, password: str) -> dict[str, str]:
        response = expect(
            await self.api.post(
                "/v1/auth/login", json={"national_id": national_id, "password": password}
            ),
            200,
        )
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    async def caseworker(self) -> dict[str, str]:
        """A new caseworker account, created as identity's staff command does, signed in."""
        return await self.staff("caseworker")

    async def staff(self, role: str) -> dict[str, str]:
        """A new staff account of ``role`` (caseworker, auditor, admin), created as
        identity's staff command does, signed in."""
        from sanad.identity.service.staff import create_staff

        national_id, password = new_national_id(), f"Staff-{uuid.uuid4().hex[:12]}!"
        settings = _identity_settings()
        engine = engine_for(settings)
        try:
            await create_staff(
                session_factory(engine, producer=settings.service),
                settings.pseudonyms,
                national_id=national_id,
                role=role,
                password=password,
                name=role.title(),
            )
        finally:
            await engine.dispose()
        return await self.login(national_id, password)

    # -- the profile --------------------------------------------------------------------

    async def profile(self, citizen: Citizen) -> httpx.Response:
        """The profile, once profile has built it from CitizenRegistered."""
        return await eventually(
            lambda: self.api.get("/v1/profile", headers=citizen.headers),
            until=lambda r: r.status_code == 200,
            timeout=self.wait,
            what="the profile created from the registration",
        )

    async def fill_profile(self, citizen: Citizen, sections: Mapping[str, Any]) -> int:
        """Fill sections in turn (each with the ETag of the last); the profile's version."""
        current = await self.profile(citizen)
        etag, version = current.headers["etag"], current.json()["version"]
        for section, body in sections.items():
            response = expect(
                await self.api.put(
                    f"/v1/profile/{section}",
                    json=body,
                    headers=citizen.headers | {"If-Match": etag},
                ),
                200,
            )
            etag, version = response.headers["etag"], response.json()["version"]
        return int(version)

    async def add_dependent(self, citizen: Citizen, body: Mapping[str, Any]) -> dict[str, Any]:
        """A dependent the family register confirms; as the profile stores it."""
        response = expect(
            await self.api.post("/v1/profile/dependents", json=body, headers=citizen.headers), 201
        )
        added: dict[str, Any] = response.json()
        return added

    async def check(self, citizen: Citizen, program: str) -> dict[str, Any]:
        """The eligibility check before applying, once eligibility knows the profile as it
        is now (it learns of each change from ``ProfileUpdated``, a moment later)."""
        version = (await self.profile(citizen)).json()["version"]
        response = await eventually(
            lambda: self.api.get(
                "/v1/eligibility/check", params={"program": program}, headers=citizen.headers
            ),
            until=lambda r: r.status_code == 200 and r.json()["profile_version"] >= version,
            timeout=self.wait,
            what=f"the {program} check on profile version {version}",
        )
        result: dict[str, Any] = response.json()
        return result

    # -- applying -----------------------------------------------------------------------

    async def draft(
        self,
        citizen: Citizen,
        program: str,
        form: Mapping[str, Any],
        documents: tuple[str, ...] = DOCUMENTS,
    ) -> str:
        """A draft application with its form and documents; its id."""
        started = expect(
            await self.api.post(
                "/v1/applications", json={"program_code": program}, headers=citizen.headers
            ),
            201,
        )
        application_id: str = started.json()["application_id"]
        url = f"/v1/applications/{application_id}"
        expect(await self.api.put(url, json=dict(form), headers=citizen.headers), 200)
        for number, kind in enumerate(documents):
            content = (JPEG if kind == "bank_account" else PDF) + bytes([number])
            expect(
                await self.api.post(
                    f"{url}/documents",
                    data={"kind": kind},
                    files={"file": (f"{kind}.bin", content, "application/octet-stream")},
                    headers=citizen.headers,
                ),
                201,
            )
        return application_id

    async def submit(
        self, citizen: Citizen, application_id: str, *, key: str | None = None
    ) -> dict[str, Any]:
        headers = citizen.headers | {"Idempotency-Key": key or f"submit-{uuid.uuid4()}"}
        response = expect(
            await self.api.post(
                f"/v1/applications/{application_id}/submit",
                json={"declaration_accepted": True},
                headers=headers,
            ),
            200,
        )
        body: dict[str, Any] = response.json()
        return body

    async def status_becomes(
        self, citizen: Citizen, application_id: str, status: str
    ) -> dict[str, Any]:
        response = await eventually(
            lambda: self.api.get(f"/v1/applications/{application_id}", headers=citizen.headers),
            until=lambda r: r.status_code == 200 and r.json()["status"] == status,
            timeout=self.wait,
            what=f"the application {status}",
        )
        body: dict[str, Any] = response.json()
        return body

    # -- the card -----------------------------------------------------------------------

    async def cards(self, citizen: Citizen, count: int = 1) -> list[dict[str, Any]]:
        response = await eventually(
            lambda: self.api.get("/v1/cards/me", headers=citizen.headers),
            until=lambda r: r.status_code == 200 and len(r.json()["items"]) >= count,
            timeout=self.wait,
            what="the card issued on approval",
        )
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def card_png(self, citizen: Citizen, card: Mapping[str, Any]) -> bytes:
        response = expect(await self.api.get(card["links"]["png"], headers=citizen.headers), 200)
        return response.content

    async def public_keys(self) -> dict[str, bytes]:
        """The cards service's published verification keys (no token): kid → Ed25519 key."""
        from sanad.cards.domain.token import unb64u

        keys = expect(await self.api.get("/v1/cards/keys"), 200).json()["keys"]
        return {k["kid"]: unb64u(k["x"]) for k in keys}


async def applications_knows(db: AsyncEngine, citizen: Citizen, version: int, wait: float) -> None:
    """Applications snapshots the household it knows at submission: wait until it knows
    profile ``version`` (ProfileUpdated reaches it through Kafka)."""

    async def known() -> int:
        async with db.connect() as conn:
            found = await conn.execute(
                text("SELECT version FROM applications.citizen_profiles WHERE citizen_id = :c"),
                {"c": uuid.UUID(citizen.id)},
            )
            return int(found.scalar() or 0)

    await eventually(
        known,
        until=lambda v: v >= version,
        timeout=wait,
        what=f"profile v{version} in applications",
    )


def read_card_qr(png: bytes) -> str:
    """The signed token in the card picture's QR code."""
    import zxingcpp
    from PIL import Image

    # QR codes only: looking for every format sometimes also "finds" a 1D barcode in the
    # card's printed digits.
    image = Image.open(io.BytesIO(png))
    found = zxingcpp.read_barcodes(
        image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    )
    if len(found) != 1:
        raise JourneyError(f"expected one QR code on the card, found {len(found)}")
    return str(found[0].text)


def verify_offline(token: str, keys: Mapping[str, bytes]) -> Any:
    """What a verifier holding only the public keys concludes about a card's QR token."""
    from sanad.cards.domain.token import verify

    return verify(token, dict(keys), now=datetime.now(UTC), issuer="sanad-cards")
