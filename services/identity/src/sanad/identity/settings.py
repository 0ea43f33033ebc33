"""Settings of the identity service (environment variables prefixed `SANAD_IDENTITY_`)."""

from pydantic import SecretStr

from sanad.shared.settings import ServiceSettings, dev_secret, service_config

# Made once with sanad.shared.auth.generate_signing_key(); refused outside dev/test.
DEV_SIGNING_KEY = "c_TF0hULRU9036rgqvVJPi9APxhkZZWN36ThsEySKCY"
# The public half of the notifications service's dev OTP key (it holds the private half).
DEV_OTP_PUBLIC_KEY = "GxX4vnERh_7KfPZ6p_Lrxo5rRi8IcQ3g8YG01tlH1RM"


class IdentitySettings(ServiceSettings):
    model_config = service_config("identity")

    service: str = "identity"
    port: int = 8001

    # Tokens
    signing_key: SecretStr = SecretStr(dev_secret(DEV_SIGNING_KEY))
    access_token_ttl_seconds: int = 15 * 60
    refresh_token_ttl_seconds: int = 14 * 24 * 3600

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

    # Login lockout
    login_max_failures: int = 5
    login_failure_window_seconds: int = 15 * 60
    login_lockout_seconds: int = 15 * 60

    # The first admin, created at start-up when both are set and the account does not exist.
    admin_national_id: str | None = None
    admin_password: SecretStr | None = None
    admin_name: str = "Administrator"

    # Client addresses taken from X-Forwarded-For only when the peer is one of these (the gateway).
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
