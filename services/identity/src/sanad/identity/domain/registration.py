"""The checks on a registration request that need no I/O, each with its own field error."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from email_validator import EmailNotValidError, validate_email

from sanad.identity.domain.mobile import national_digits, normalize_mobile
from sanad.identity.domain.password_policy import password_problem
from sanad.shared.national_id import validate_national_id
from sanad.shared.problems import FieldError


@dataclass(frozen=True)
class RegistrationDetails:
    """A registration request whose fields are each valid, normalised."""

    national_id: str
    date_of_birth: date
    mobile: str  # E.164
    password: str
    email: str | None
    language: str


def check_registration(
    *,
    national_id: str,
    date_of_birth: date,
    mobile: str,
    password: str,
    email: str | None,
    language: str,
    today: date,
) -> RegistrationDetails | list[FieldError]:
    """The normalised details, or every field error found (the request changes nothing)."""
    errors: list[FieldError] = []
    try:
        national_id = validate_national_id(national_id)
    except ValueError as exc:
        errors.append(
            FieldError("body.national_id", f"The national ID {exc}.", "invalid_national_id")
        )
    if date_of_birth >= today:
        errors.append(FieldError("body.date_of_birth", "The date of birth must be in the past."))
    try:
        mobile = normalize_mobile(mobile)
    except ValueError as exc:
        errors.append(FieldError("body.mobile", f"The mobile {exc}.", "invalid_mobile"))
    mobile_ok = not any(e.field == "body.mobile" for e in errors)
    mobile_digits = national_digits(mobile) if mobile_ok else ""
    problem = password_problem(password, national_id=national_id, mobile_digits=mobile_digits)
    if problem:
        errors.append(FieldError("body.password", f"The password {problem}.", "weak_password"))
    if email is not None:
        try:
            email = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            errors.append(FieldError("body.email", str(exc), "invalid_email"))
    if errors:
        return errors
    return RegistrationDetails(national_id, date_of_birth, mobile, password, email, language)
