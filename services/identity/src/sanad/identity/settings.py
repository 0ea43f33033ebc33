"""Settings of the identity service (environment variables prefixed `SANAD_IDENTITY_`)."""

from pydantic import SecretStr

from sanad.shared.pseudonym import (
    HoldsPseudonymKeys,
    previous_pseudonym_keys_field,
    pseudonym_key_field,
    pseudonym_key_id_field,
)
from sanad.shared.settings import ServiceSettings, dev_secret, service_config

# Made once with sanad.shared.auth.generate_signing_key(); refused outside dev/test.
DEV_SIGNING_KEY = "c_TF0hULRU9036rgqvVJPi9APxhkZZWN36ThsEySKCY"
# The public half of the notifications service's dev OTP key (it holds the private half).
DEV_OTP_PUBLIC_KEY = "GxX4vnERh_7KfPZ6p_Lrxo5rRi8IcQ3g8YG01tlH1RM"


class IdentitySettings(ServiceSettings, HoldsPseudonymKeys):
    model_config = service_config("identity")

    service: str = "identity"
    uses_redis: bool = True  # OTP codes, throttles, lockouts
    port: int = 8001

    # Tokens
    signing_key: SecretStr = SecretStr(dev_secret(DEV_SIGNING_KEY))
    access_token_ttl_seconds: int = 15 * 60
    refresh_token_ttl_seconds: int = 14 * 24 * 3600

    # National IDs leave identity only as pseudonyms under this key (profile holds it too).
    pseudonym_key: SecretStr = pseudonym_key_field("identity")
    # Its id (published beside every pseudonym) and, after a rotation, the previous keys as
    # "id:key,..." (README, Security, "The pseudonym key").
    pseudonym_key_id: str = pseudonym_key_id_field("identity")
    pseudonym_previous_keys: SecretStr | None = previous_pseudonym_keys_field("identity")

    # OTP (the public key is not secret: it only encrypts for notifications)
    otp_public_key: str = DEV_OTP_PUBLIC_KEY
    otp_ttl_seconds: int = 5 * 60
    otp_max_tries: int = 5
    # Per mobile: a cooldown between two codes; the first code and `otp_resend_limit` resends
    # (whether asked for by registering or resending) per window.
    otp_resend_cooldown_seconds: int = 60
    otp_resend_limit: int = 3
    otp_resend_window_seconds: int = 10 * 60
    # OTP sends (registrations and resends) from one client IP
    otp_ip_limit: int = 60
    otp_ip_window_seconds: int = 10 * 60
    # Per national ID: birth dates that do not match the registry, and registrations started
    registry_mismatch_limit: int = 5
    registry_mismatch_window_seconds: int = 60 * 60
    registration_id_limit: int = 3
    registration_id_window_seconds: int = 60 * 60
    # Per mobile: registrations whose details do not match the registry (ID, birth date and
    # mobile together), so one number cannot be tried against many IDs.
    registry_mismatch_mobile_limit: int = 10

    # Password hashing (argon2id; see passwords.py for the choice) and its bounds: slots
    # (0 = the number of cores), places waiting beyond them (-1 = 4 per slot), places one
    # client address may hold.
    password_memory_kib: int = 19 * 1024
    password_time_cost: int = 2
    password_parallelism: int = 1
    hash_concurrency: int = 0
    hash_queue: int = -1
    hash_per_client: int = 2

    # Login lockout
    login_max_failures: int = 5
    login_failure_window_seconds: int = 15 * 60
    login_lockout_seconds: int = 15 * 60
    # Failed sign-ins per client address (any IDs) in a window; a success gives its count back.
    login_ip_max_failures: int = 100
    login_ip_window_seconds: int = 15 * 60

    # The first admin, created at start-up when both are set and the account does not exist.
    admin_national_id: str | None = None
    admin_password: SecretStr | None = None
    admin_name: str = "Administrator"

    # Client addresses taken from X-Forwarded-For only when the peer is one of these (the gateway).
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
