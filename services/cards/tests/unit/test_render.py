import io
import unicodedata
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pypdf
import zxingcpp
from PIL import Image

from sanad.cards.domain.card import Card, Status
from sanad.cards.domain.number import new_card_number
from sanad.cards.domain.token import CardClaims, SigningKey, sign, verify
from sanad.cards.render import HEIGHT, WIDTH, arabic, render_pdf, render_png
from sanad.platform.journey import read_card_qr

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
KEY = SigningKey.generate("c2611-render")


def card(status: Status = Status.ACTIVE) -> Card:
    return Card(
        card_id=uuid.uuid4(),
        card_number=new_card_number(),
        citizen_id=uuid.uuid4(),
        program_code="SSP-DEV",
        program_name_ar="الضمان الاجتماعي المطور",
        program_name_en="Developed Social Security",
        application_id=uuid.uuid4(),
        decision_id=uuid.uuid4(),
        holder_name_ar="ليلى خالد العتيبي",
        holder_name_en="Layla Khaled Al-Otaibi",
        monthly_benefit=Decimal("1850.00"),
        issued_at=NOW,
        expires_on=date(2027, 11, 30),
        status=status,
        status_reason=None,
        status_changed_at=NOW,
    )


def token_of(c: Card) -> str:
    return sign(
        CardClaims(
            c.card_id,
            c.card_number[-4:],
            c.holder_name_ar,
            c.holder_name_en,
            c.program_code,
            c.status.value,
            c.expires_on,
            c.status_changed_at,
            "sanad-cards",
        ),
        KEY,
    )


def test_the_png_decodes_and_its_qr_reads_back_to_the_signed_token() -> None:
    c = card()
    token = token_of(c)
    png = render_png(c, token)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.size == (WIDTH, HEIGHT)
    # QR codes only, as a verifier's scanner reads the card: a decoder looking for every
    # format sometimes also "finds" a 1D barcode (ITF) in the printed digits (1 card in 60).
    [found] = zxingcpp.read_barcodes(
        image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    )
    assert found.format == zxingcpp.BarcodeFormat.QRCode
    assert found.text == token
    assert (
        verify(found.text, {KEY.kid: KEY.public}, now=NOW, issuer="sanad-cards").result == "valid"
    )


def test_a_suspended_card_renders_too() -> None:
    c = card(Status.SUSPENDED)
    assert read_card_qr(render_png(c, token_of(c))) == token_of(c)


def test_arabic_is_shaped_and_right_to_left() -> None:
    shaped = arabic("ليلى")
    # Contextual forms (presentation forms B), in visual order: the last letter comes first.
    assert all("\ufe70" <= ch <= "\ufeff" for ch in shaped)
    assert unicodedata.normalize("NFKC", shaped)[::-1] == "ليلى"
    # A number inside Arabic keeps its order.
    assert "1234 5678" in arabic("رقم: \u20661234 5678\u2069")


def test_the_pdf_opens_and_holds_the_holders_name() -> None:
    c = card()
    pdf = render_pdf(c, token_of(c))
    assert pdf.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    assert "Layla Khaled Al-Otaibi" in text
    assert "ليلى خالد العتيبي" in unicodedata.normalize("NFKC", text)
    assert c.card_number[-4:] in text
    assert reader.pages[0].images  # the card face
