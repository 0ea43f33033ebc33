"""The README's samples are what the real templates render, with true segment counts.

Regenerate them after a template change:
``uv run python services/notifications/tests/unit/test_readme_samples.py``
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from sanad.notifications.domain.planning import Template
from sanad.notifications.domain.segments import count_segments
from sanad.notifications.rendering import Renderer

README = Path(__file__).resolve().parents[2] / "README.md"
START = "## Samples (rendered by the real templates)\n"
END = "\nThe HTML part carries the same content"

APPLICATION = {"application_id": "5f0c1d2e-0000-4000-8000-000000000001"}
DECISION = {**APPLICATION, "program_code": "SSP-DEV"}
REASONS = [
    {
        "code": "income",
        "reason_ar": "دخل الأسرة الشهري أعلى من الحد",
        "reason_en": "Household monthly income is above the limit",
    },
    {
        "code": "property",
        "reason_ar": "قيمة العقارات أعلى من السقف",
        "reason_en": "Property value is above the ceiling",
    },
]
# Full values, as the events carry them: a shortened id would change the segment count.
CONTEXTS: dict[Template, dict[str, Any]] = {
    Template.OTP: {"code": "123456", "valid_minutes": 5},
    Template.DECISION_APPROVED: {**DECISION, "monthly_benefit": "1650.00"},
    Template.DECISION_REJECTED: {**DECISION, "reasons": REASONS, "respond_by": "2026-12-31"},
    Template.DECISION_NEEDS_COMPLETION: {
        **DECISION,
        "missing_documents": ["family_register", "proof_of_income"],
        "reasons": [],
        "respond_by": "2026-12-31",
    },
    Template.DECISION_UNDER_REVIEW: DECISION,
    Template.CARD_ISSUED: {
        "card_id": "9b1e4c2a-7d3f-4e8b-a6c5-0f1e2d3c4b5a",
        "card_number_last4": "1234",
        "program_code": "SSP-DEV",
        "expires_at": "2027-12-31",
    },
}
NAMES = {"ar": "سارة أحمد", "en": "Sara Ahmed"}


def block(text: str) -> str:
    return f"```text\n{text.rstrip()}\n```\n"


def samples() -> str:
    """The README's Samples section, rendered now."""
    renderer = Renderer(portal_url="https://sanad.example")
    parts = [START]
    for template, context in CONTEXTS.items():
        parts.append(f"### `{template.value}`\n")
        for language in ("ar", "en"):
            sms = renderer.sms(template, language, context)
            count = sms.segments
            parts.append(f"\nSMS ({language}, {count.segments} segment(s), {count.encoding}):\n\n")
            parts.append(block(sms.body))
        if template is Template.OTP:
            parts.append("\n")
            continue
        for language in ("ar", "en"):
            email = renderer.email(template, language, {**context, "name": NAMES[language]})
            parts.append(f"\nEmail ({language}) — subject: {email.subject}\n\n")
            parts.append(block(email.text))
        parts.append("\n")
    return "".join(parts)


def current() -> tuple[str, str, str]:
    readme = README.read_text(encoding="utf-8")
    start = readme.index(START)
    end = readme.index(END, start)
    return readme[:start], readme[start:end], readme[end:]


def test_readme_samples_are_what_the_templates_render() -> None:
    _, section, _ = current()
    assert section == samples(), (
        "README samples are stale: uv run python services/notifications/tests/unit/"
        "test_readme_samples.py"
    )


def test_every_stated_segment_count_and_encoding_is_true_of_the_text_shown() -> None:
    _, section, _ = current()
    stated = re.findall(
        r"SMS \((ar|en), (\d+) segment\(s\), ([A-Z0-9-]+)\):\n\n```text\n(.*?)\n```", section, re.S
    )
    assert len(stated) == 2 * len(CONTEXTS)
    for language, segments, encoding, text in stated:
        assert "…" not in text, (language, text)  # shown whole, never shortened
        assert count_segments(text) == (int(segments), encoding), (language, text)


if __name__ == "__main__":
    before, _, after = current()
    README.write_text(before + samples() + after, encoding="utf-8")
    sys.stdout.write(f"rewrote the samples in {README}\n")
