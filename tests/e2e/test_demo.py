"""``./sanad demo`` against the running platform: it finishes, says what each citizen went
through (the decisions with their reasons in both languages, the messages received) and
writes a card picture whose QR holds a valid token."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sanad.platform.layout import REPO
from sanad.platform.services import platform_env


@pytest.mark.timeout(400)
def test_the_demo_walks_three_households_through_the_platform(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sanad.platform", "demo", "--out", str(tmp_path)],
        cwd=REPO,
        env=os.environ | platform_env() | {"COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=380,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    for line in (
        "Hind  ✓ registered and signed in",
        "Hind  ✓ profile complete: 7 sections, 2 dependents (household of 3, income 900.00)",
        "Hind  ✓ eligibility check: eligible, 1300.00 SAR a month",
        "Hind  ✓ APPROVED: 1300.00 SAR a month",
        "Hind  ✉ SMS « سند: تمت الموافقة على طلبك في الضمان الاجتماعي المطور. المبلغ الشهري: "
        "1,300.00",
        "its QR checked offline with only GET /v1/cards/keys: valid (Hind Abdullah)",
        "Omar  ✓ REJECTED, because:",
        "Omar  · en Household income 4,200 SAR exceeds the limit of 1,100 SAR",
        "Omar  · ar دخل الأسرة 4,200 ريال يتجاوز الحد 1,100 ريال",
        "Omar  ✉ SMS « Sanad: your application for Developed Social Security was not approved.",
        "Sara  · en Already an active beneficiary of Developed Social Security, an exclusive "
        "program",
        "✓ the demo finished in",
    ):
        assert line in out, f"{line!r} not in the demo's output:\n{out}"
    [card] = list(tmp_path.glob("card-*.png"))
    assert f"its picture: {card}" in out
    assert card.read_bytes().startswith(b"\x89PNG")
