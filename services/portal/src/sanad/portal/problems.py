"""A gateway's ``application/problem+json`` as the page shows it: each field error beside
the control it names, the rest above the form, all in the page's language.

The services name fields by their API path (``body.payment.iban``,
``body.sources.0.monthly_amount``); the portal's controls carry the same path without the
``body.`` prefix as their ``name``, so an error finds its control without a mapping table.
The services write their messages in English: an English page shows them as they are (they
are precise), an Arabic page shows the translation of the error's ``code`` (or, for a code
without one, a general Arabic sentence), never English.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from sanad.portal.i18n import N_, current, gettext

# Error codes the services answer, in words (English msgids, translated in the catalogs).
CODE_MESSAGES: dict[str, str] = {
    "missing": N_("This field is required."),
    "required": N_("This field is required."),
    "invalid": N_("This value is not valid."),
    "registry_mismatch": N_(
        "The national ID, date of birth and mobile do not match one civil-registry record."
    ),
    "invalid_national_id": N_("Enter a valid 10-digit national ID."),
    "invalid_mobile": N_("Enter a valid Saudi or Iraqi mobile number."),
    "invalid_email": N_("Enter a valid email address."),
    "weak_password": N_(
        "Choose a stronger password: 8 to 128 characters, not a common password, not "
        "containing your ID or mobile."
    ),
    "otp_wrong": N_("The code is wrong."),
    "otp_expired": N_("The code has expired: ask for a new one."),
    "invalid_code": N_("Enter the 6 digits of the code."),
    "rate_limited": N_("Too many attempts: wait a little and try again."),
    "too_many": N_("Too many attempts: wait a little and try again."),
    "iban_format": N_("Enter a Saudi IBAN: SA followed by 22 digits."),
    "iban_check": N_("This IBAN's check digits are wrong."),
    "not_in_family_register": N_("This person is not in your family register."),
    "in_another_household": N_("This person is already a dependent in another household."),
    "has_own_account": N_("This person has their own account and cannot be added."),
    "staff": N_("This person cannot be added as a dependent."),
    "is_citizen": N_("You cannot add yourself as a dependent."),
    "duplicate": N_("This is already in your household."),
    "household_limit": N_("The household is full."),
    "read_only": N_("This value comes from the civil registry and cannot be changed."),
    "too_large": N_("The file is too large."),
    "unsupported_media_type": N_("Only PDF, JPEG and PNG files are accepted."),
    "not_accepting": N_("This program is not accepting applications."),
    "greater_than_equal": N_("The value is too small."),
    "less_than_equal": N_("The value is too large."),
    "string_too_short": N_("This value is too short."),
    "string_too_long": N_("This value is too long."),
    "date_from_datetime_parsing": N_("Enter a valid date."),
    "date_parsing": N_("Enter a valid date."),
    "decimal_parsing": N_("Enter a number."),
    "int_parsing": N_("Enter a whole number."),
    "literal_error": N_("Choose one of the options."),
    "enum": N_("Choose one of the options."),
}
GENERAL = N_("This value is not accepted.")
SOMETHING_WRONG = N_("Something went wrong: try again.")

# Problems that name no field, by status.
STATUS_MESSAGES: dict[int, str] = {
    400: N_("The request could not be understood."),
    401: N_("Your session has ended: sign in again."),
    403: N_("You are not allowed to do this."),
    404: N_("Not found."),
    409: N_("This cannot be done in the current state."),
    412: N_("Someone changed this meanwhile: reload and try again."),
    413: N_("The file is too large."),
    415: N_("Only PDF, JPEG and PNG files are accepted."),
    422: N_("Some values are not valid."),
    423: N_("Too many failed sign-ins: this ID is locked for a while."),
    428: N_("Reload the page and try again."),
    429: N_("Too many attempts: wait a little and try again."),
    503: N_("The service is busy or unavailable: try again shortly."),
    504: N_("The service took too long to answer: try again shortly."),
}


def field_name(path: str) -> str:
    """``body.payment.iban`` → ``payment.iban`` (the control's name); ``form.x`` → ``x``."""
    for prefix in ("body.", "query.", "form."):
        if path.startswith(prefix):
            return path[len(prefix) :]
    return path


@dataclass
class FormErrors:
    fields: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, message)


def _message(error: dict[str, Any]) -> str:
    code = str(error.get("code") or "")
    if current().code == "en" and error.get("message"):
        return str(error["message"])
    return gettext(CODE_MESSAGES.get(code, GENERAL))


def _problem_message(status: int, body: dict[str, Any]) -> str:
    if current().code == "en" and (body.get("detail") or body.get("title")):
        return str(body.get("detail") or body.get("title"))
    return gettext(STATUS_MESSAGES.get(status, SOMETHING_WRONG))


def from_response(response: httpx.Response) -> FormErrors:
    """The errors of a refused request, in the page's language."""
    errors = FormErrors()
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    field_errors = body.get("errors") or []
    fields_shown = False
    for error in field_errors:
        if not isinstance(error, dict) or not error.get("field"):
            continue
        name = field_name(str(error["field"]))
        if name.startswith("path.") or name == "profile":
            continue
        errors.add(name, _message(error))
        fields_shown = True
    if not fields_shown:
        errors.general.append(_problem_message(response.status_code, body))
    elif response.status_code != 422:
        errors.general.append(_problem_message(response.status_code, body))
    return errors
