"""The input rules identity's OpenAPI document states (the checks are in ``domain/``)."""

from sanad.identity.domain.password_policy import MAX_LENGTH, MIN_LENGTH

NATIONAL_ID_RULE = (
    "10 digits, starting with 1 (citizen) or 2 (resident), the last a Luhn check digit"
)
MOBILE_RULE = (
    "a Saudi (05xxxxxxxx, +9665xxxxxxxx) or Iraqi (07xxxxxxxxx, +9647xxxxxxxxx) mobile "
    "number; spaces and dashes are ignored"
)
PASSWORD_RULE = (
    f"{MIN_LENGTH}–{MAX_LENGTH} characters, not a common password, not containing the "
    "national ID or the mobile number (NIST SP 800-63B: no composition rules)"
)
OTP = r"^\s*[0-9]{6}\s*$"
OTP_RULE = "the 6-digit code sent by SMS"
