"""Journey step 8 through the gateway: an approved citizen's card is issued on its own
(the program issues cards on approval), seen as JSON, PNG and PDF, announced by SMS; a
verifier holding only the public keys checks its QR offline, and the public verification
endpoint agrees; another citizen cannot see it. The approval is the real eligibility
service's (SSP-DEV: 900 SAR income, alone → a 200 SAR benefit)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import httpx
import pypdf
import zxingcpp
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncEngine

from sanad.cards.domain.token import unb64u, verify
from sanad.platform.testing import eventually

from .test_applications_journey import (  # fixtures and helpers
    PROFILE_SECTIONS,
    admin_db,
    api,
    applications_has_profile,
    apply_and_submit,
    fill_profile,
    register_citizen,
    salary,
    sms,
    status_becomes,
)

__all__ = ["admin_db", "api", "sms"]


async def test_an_approved_citizen_gets_a_card_that_anyone_verifies_offline(
    api: httpx.AsyncClient, sms: httpx.AsyncClient, admin_db: AsyncEngine
) -> None:
    citizen = await register_citizen(api, sms)
    version = await fill_profile(api, citizen, PROFILE_SECTIONS | {"income": salary("900")})
    await applications_has_profile(admin_db, citizen, version)
    application = await apply_and_submit(api, citizen, "900.00")
    await status_becomes(api, citizen, application["application_id"], "APPROVED")

    mine = await eventually(
        lambda: api.get("/v1/cards/me", headers=citizen.headers),
        until=lambda r: r.status_code == 200 and len(r.json()["items"]) == 1,
        what="the card issued on approval",
    )
    [card] = mine.json()["items"]
    assert card["status"] == "active" and card["program_code"] == "SSP-DEV"
    assert card["holder_name_en"] == "Hind Abdullah" and card["holder_name_ar"] == "هند عبدالله"
    assert card["program_name_ar"] and card["monthly_benefit"] == "200.00"
    assert card["application_id"] == application["application_id"]

    # Asking again issues nothing new.
    again = await api.post("/v1/cards", json={"program_code": "SSP-DEV"}, headers=citizen.headers)
    assert again.status_code == 200 and again.json()["card_id"] == card["card_id"]
    # A program without an approval is refused with the reason.
    refused = await api.post(
        "/v1/cards", json={"program_code": "FOOD-SUPPORT"}, headers=citizen.headers
    )
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["field"] == "body.program_code"

    png = await api.get(card["links"]["png"], headers=citizen.headers)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    pdf = await api.get(card["links"]["pdf"], headers=citizen.headers)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert "Hind Abdullah" in pypdf.PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()

    # The verifier: the public keys (no token), the QR from the picture, nothing else.
    keys = await api.get("/v1/cards/keys")
    assert keys.status_code == 200
    public = {k["kid"]: unb64u(k["x"]) for k in keys.json()["keys"]}
    [qr] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    offline = verify(qr.text, public, now=datetime.now(UTC), issuer="sanad-cards")
    assert offline.result == "valid", offline.reason
    assert offline.claims is not None
    assert str(offline.claims.card_id) == card["card_id"]
    assert offline.claims.holder_name_en == "Hind Abdullah"
    online = await api.post("/v1/cards/verify", json={"token": qr.text})  # public too
    assert online.status_code == 200 and online.json()["result"] == "valid"

    # Another citizen learns nothing of it.
    other = await register_citizen(api, sms)
    hidden = await api.get(f"/v1/cards/{card['card_id']}", headers=other.headers)
    assert hidden.status_code == 404
    assert (await api.get("/v1/cards/me", headers=other.headers)).json()["items"] == []
    assert (await api.get("/v1/cards/me")).status_code == 401

    # Notifications tells the citizen of the card (CardIssued), with its last four digits.
    await eventually(
        lambda: sms.get("/messages", params={"to": citizen.mobile}),
        until=lambda r: any(card["card_number"][-4:] in m["body"] for m in r.json()["messages"]),
        what="the card SMS",
    )
