import uuid
import zlib
from datetime import UTC, date, datetime, timedelta

import base45
import cbor2
import pytest

from sanad.cards.domain.token import PREFIX, CardClaims, SigningKey, sign, verify

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
ISSUER = "sanad-cards"
KEY = SigningKey.generate("c2611-aaaaaa")
KEYS = {KEY.kid: KEY.public}


def claims(**changes: object) -> CardClaims:
    fields: dict[str, object] = {
        "card_id": uuid.uuid4(),
        "last4": "3456",
        "holder_name_ar": "ليلى خالد العتيبي",
        "holder_name_en": "Layla Khaled Al-Otaibi",
        "program_code": "SSP-DEV",
        "status": "active",
        "expires_on": date(2027, 11, 30),
        "signed_at": NOW,
        "issuer": ISSUER,
    } | changes
    return CardClaims(**fields)  # type: ignore[arg-type]


def test_a_signed_card_verifies_with_the_public_key_alone() -> None:
    card = claims()
    token = sign(card, KEY)
    assert token.startswith(PREFIX) and len(token) < 400
    result = verify(token, KEYS, now=NOW, issuer=ISSUER)
    assert (result.result, result.kid) == ("valid", KEY.kid)
    assert result.claims == card


def test_signing_is_deterministic_for_one_state() -> None:
    card = claims()
    assert sign(card, KEY) == sign(card, KEY)


def _tampered(token: str, change: dict[int, object]) -> str:
    message = cbor2.loads(zlib.decompress(base45.b45decode(token[len(PREFIX) :])))
    protected, unprotected, payload, signature = message.value
    claims_map = cbor2.loads(payload)
    claims_map[-70001].update(change)
    forged = cbor2.CBORTag(18, [protected, unprotected, cbor2.dumps(claims_map), signature])
    return PREFIX + base45.b45encode(zlib.compress(cbor2.dumps(forged))).decode()


def test_a_tampered_payload_fails() -> None:
    token = _tampered(sign(claims(), KEY), {4: "Someone Else"})
    result = verify(token, KEYS, now=NOW, issuer=ISSUER)
    assert result.result == "invalid"
    assert "signature does not match" in result.reason


def test_a_wrong_key_fails() -> None:
    impostor = SigningKey.generate(KEY.kid)  # same key id, another key
    result = verify(sign(claims(), impostor), KEYS, now=NOW, issuer=ISSUER)
    assert result.result == "invalid" and "signature" in result.reason
    unknown = SigningKey.generate("c2611-ffffff")
    result = verify(sign(claims(), unknown), KEYS, now=NOW, issuer=ISSUER)
    assert result.result == "invalid" and "not one of the issuer's keys" in result.reason


def test_an_old_key_still_verifies_after_rotation() -> None:
    new = SigningKey.generate("c2612-bbbbbb")
    keys = KEYS | {new.kid: new.public}
    assert verify(sign(claims(), KEY), keys, now=NOW, issuer=ISSUER).result == "valid"
    assert verify(sign(claims(), new), keys, now=NOW, issuer=ISSUER).result == "valid"


def test_an_expired_card_fails_with_its_date() -> None:
    token = sign(claims(expires_on=date(2026, 11, 29)), KEY)
    result = verify(token, KEYS, now=NOW, issuer=ISSUER)
    assert (result.result, result.reason) == ("expired", "the card expired on 2026-11-29")
    # Valid through its last day.
    last_day = sign(claims(expires_on=NOW.date()), KEY)
    assert verify(last_day, KEYS, now=NOW + timedelta(hours=13), issuer=ISSUER).result == "valid"


def test_a_revoked_or_suspended_card_fails() -> None:
    revoked = verify(sign(claims(status="revoked"), KEY), KEYS, now=NOW, issuer=ISSUER)
    assert revoked.result == "revoked" and "revoked" in revoked.reason
    suspended = verify(sign(claims(status="suspended"), KEY), KEYS, now=NOW, issuer=ISSUER)
    assert suspended.result == "suspended"


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("HC1:NCF", "not a Sanad card token"),
        (PREFIX + "!!!", "not Base45"),
        (PREFIX + base45.b45encode(zlib.compress(b"\x01")).decode(), "not a COSE_Sign1"),
        (PREFIX + "A" * 3000, "too long"),
    ],
)
def test_garbage_is_invalid_with_a_reason(token: str, reason: str) -> None:
    result = verify(token, KEYS, now=NOW, issuer=ISSUER)
    assert result.result == "invalid" and reason in result.reason


def test_another_issuer_is_refused() -> None:
    result = verify(sign(claims(issuer="elsewhere"), KEY), KEYS, now=NOW, issuer=ISSUER)
    assert result.result == "invalid" and "issued by 'elsewhere'" in result.reason


def test_the_private_key_is_never_printed() -> None:
    assert KEY.seed.hex() not in repr(KEY) and "seed" not in repr(KEY)
