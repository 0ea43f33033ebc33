"""The card face as PNG (Pillow) and as PDF (fpdf2), with the signed QR (segno).

Arabic is shaped (arabic-reshaper joins each letter in its contextual form) and laid out
right to left (python-bidi's Unicode bidirectional algorithm) before it is drawn, the same
way for both renderers whatever the machine has: Pillow is told to use its basic layout
(with libraqm it would reorder the text again) and fpdf2 runs without HarfBuzz. The font is
Noto Sans Arabic (OFL, shipped as a wheel: no system font needed), which also has Latin and digits.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

import arabic_reshaper
import fontpkg
import segno
from bidi import get_display
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont

from sanad.cards.domain.card import Card, Status
from sanad.cards.domain.number import grouped

WIDTH, HEIGHT = 1016, 640  # ID-1 (85.6 x 54 mm) at 300 dpi
MARGIN = 40
GREEN = (0, 108, 53)
INK = (28, 32, 36)
MUTED = (96, 104, 112)
RED = (190, 30, 45)
STATUS_AR = {Status.ACTIVE: "نشطة", Status.SUSPENDED: "موقوفة", Status.REVOKED: "ملغاة"}


@cache
def font_path() -> Path:
    return Path(fontpkg.path("Noto Sans Arabic"))


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    # The basic layout draws glyphs in the order given: the text is shaped and ordered
    # already (Pillow's Raqm layout, where present, would reorder it a second time).
    return ImageFont.truetype(str(font_path()), size, layout_engine=ImageFont.Layout.BASIC)


ISOLATES = str.maketrans("", "", "\u2066\u2067\u2068\u2069")


def ltr(value: str) -> str:
    """A left-to-right value (a card number, a date) kept whole inside Arabic text."""
    return f"\u2066{value}\u2069"


def arabic(text: str) -> str:
    """Logical-order Arabic → shaped glyphs in visual order, ready for a left-to-right
    renderer (the isolate marks are dropped once they have done their work)."""
    return str(get_display(arabic_reshaper.reshape(text))).translate(ISOLATES)


def money(amount: Decimal | None) -> str:
    return "—" if amount is None else f"{amount:,.2f} SAR"


@dataclass(frozen=True)
class Face:
    """What the card shows, in the order it is read."""

    title_en: str
    title_ar: str
    program_en: str
    program_ar: str
    holder_en: str
    holder_ar: str
    number: str
    rows: list[tuple[str, str, str]]  # (English label, value, Arabic label)
    status: Status


def face_of(card: Card) -> Face:
    return Face(
        title_en="Sanad · Beneficiary card",
        title_ar="سند · بطاقة المستفيد",
        program_en=card.program_name_en,
        program_ar=card.program_name_ar,
        holder_en=card.holder_name_en,
        holder_ar=card.holder_name_ar,
        number=grouped(card.card_number),
        rows=[
            ("Monthly benefit", money(card.monthly_benefit), "المبلغ الشهري"),
            ("Issued", card.issued_at.date().isoformat(), "تاريخ الإصدار"),
            ("Expires", card.expires_on.isoformat(), "تاريخ الانتهاء"),
            ("Status", card.status.value, STATUS_AR[card.status]),
        ],
        status=card.status,
    )


def qr_image(token: str, size: int) -> Image.Image:
    qr = segno.make(token, error="m")
    scale = max(1, size // qr.symbol_size(scale=1, border=2)[0])
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=scale, border=2)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def _fit(draw: ImageDraw.ImageDraw, text: str, size: int, width: int) -> ImageFont.FreeTypeFont:
    while size > 12 and draw.textlength(text, font=_font(size)) > width:
        size -= 2
    return _font(size)


def _right(
    draw: ImageDraw.ImageDraw,
    x: int,
    y: int,
    text: str,
    font: ImageFont.FreeTypeFont,
    fill: tuple[int, int, int],
) -> None:
    draw.text((x - draw.textlength(text, font=font), y), text, font=font, fill=fill)


def render_png(card: Card, token: str) -> bytes:
    face = face_of(card)
    image = Image.new("RGB", (WIDTH, HEIGHT), (250, 250, 247))
    draw = ImageDraw.Draw(image)
    right = WIDTH - MARGIN
    half = WIDTH // 2 - MARGIN - 10

    draw.rectangle((0, 0, WIDTH, 104), fill=GREEN)
    draw.text((MARGIN, 30), face.title_en, font=_font(34), fill="white")
    _right(draw, right, 24, arabic(face.title_ar), _font(38), (255, 255, 255))

    program_ar = arabic(face.program_ar)
    draw.text(
        (MARGIN, 126), face.program_en, font=_fit(draw, face.program_en, 28, half), fill=GREEN
    )
    _right(draw, right, 122, program_ar, _fit(draw, program_ar, 30, half), GREEN)

    holder_ar = arabic(face.holder_ar)
    draw.text((MARGIN, 184), face.holder_en, font=_fit(draw, face.holder_en, 38, half), fill=INK)
    _right(draw, right, 178, holder_ar, _fit(draw, holder_ar, 42, half), INK)

    draw.text((MARGIN, 262), face.number, font=_font(52), fill=INK)

    qr_size = 300
    qr = qr_image(token, qr_size)
    image.paste(qr, (right - qr.width, HEIGHT - MARGIN + 10 - qr.height))

    y = 360
    for label_en, value, label_ar in face.rows:
        draw.text((MARGIN, y), label_en, font=_font(24), fill=MUTED)
        draw.text(
            (MARGIN + 210, y),
            value if label_en != "Status" else value.upper(),
            font=_font(26),
            fill=INK if face.status is Status.ACTIVE or label_en != "Status" else RED,
        )
        _right(draw, right - qr_size - 20, y, arabic(label_ar), _font(24), MUTED)
        y += 56
    if face.status is not Status.ACTIVE:
        stamp = f"{face.status.value.upper()} · {arabic(STATUS_AR[face.status])}"
        draw.text((MARGIN, 540), stamp, font=_font(40), fill=RED)

    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def render_pdf(card: Card, token: str) -> bytes:
    """An A5 landscape page: the card face, then every field as text (searchable, and
    readable by a screen reader)."""
    face = face_of(card)
    pdf = FPDF(orientation="L", unit="mm", format=(148, 210))
    pdf.set_title(f"{face.title_en} — {face.holder_en}")
    pdf.set_author("Sanad")
    pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.add_font("Noto", fname=str(font_path()))
    png = render_png(card, token)
    card_width = 120.0
    pdf.image(io.BytesIO(png), x=(210 - card_width) / 2, y=10, w=card_width)
    pdf.set_y(10 + card_width * HEIGHT / WIDTH + 6)
    lines = [
        (face.program_en, face.program_ar),
        (face.holder_en, face.holder_ar),
        (f"Card number: {face.number}", f"رقم البطاقة: {ltr(face.number)}"),
        *[(f"{en}: {value}", f"{ar}: {ltr(value)}") for en, value, ar in face.rows],
    ]
    pdf.set_font("Noto", size=10)
    for english, arabic_text in lines:
        y = pdf.get_y()
        pdf.set_xy(15, y)
        pdf.cell(90, 6, english, align="L")
        pdf.set_xy(105, y)
        pdf.cell(90, 6, arabic(arabic_text), align="R")
        pdf.set_y(y + 6)
    return bytes(pdf.output())
