"""The email as built for SMTP reads back, through the standard parser, as what was rendered."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser

import pytest

from sanad.notifications.channels.email import SmtpMailer, encoded_words
from sanad.notifications.rendering import Email

SUBJECTS = [
    "Your application for Developed Social Security is approved",
    "تمت الموافقة على طلبك في الضمان الاجتماعي المطور، وهذا عنوان أطول من سطر واحد للتجربة",
    "Mixed عربي and English — with a dash",
]


@pytest.mark.parametrize("subject", SUBJECTS)
def test_the_message_parses_back_to_the_rendered_parts(subject: str) -> None:
    mailer = SmtpMailer(
        host="127.0.0.1", port=25, sender="سند Sanad <no-reply@sanad.example>", timeout=5
    )
    email = Email(
        subject=subject,
        text="مرحبًا سارة،\n\n1. first line\n.leading dot\n" + "نص طويل " * 60 + "\n",
        html='<html lang="ar" dir="rtl"><p>نص &amp; <b>HTML</b></p></html>',
    )
    raw = mailer.message("sara@example.com", email, "ar", message_id="<d-1@sanad.notifications>")
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))  # RFC 5322 line limit
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    assert str(parsed["Subject"]) == subject
    assert parsed["Message-ID"] == "<d-1@sanad.notifications>"
    assert parsed["To"] == "sara@example.com"
    assert parsed["From"].addresses[0].display_name == "سند Sanad"
    assert parsed["From"].addresses[0].addr_spec == "no-reply@sanad.example"
    assert parsed["Content-Language"] == "ar" and parsed["Date"] is not None
    assert parsed.get_content_type() == "multipart/alternative"
    plain, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert plain is not None and plain.get_content() == email.text
    assert html is not None and html.get_content() == email.html
    assert not parsed.defects


def test_encoded_words_keep_ascii_and_split_utf8_within_the_word_limit() -> None:
    assert encoded_words("Plain subject") == "Plain subject"
    words = encoded_words("ض" * 100).split("\r\n ")
    assert len(words) > 1 and all(len(w) <= 75 for w in words)
