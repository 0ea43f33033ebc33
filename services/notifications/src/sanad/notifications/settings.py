"""Settings of the notifications service (environment variables prefixed `SANAD_NOTIFICATIONS_`).

The defaults match the local platform; the SMS sink and the mail catcher are also reachable
through the platform-wide ``SANAD_SMS_BASE_URL`` / ``SANAD_SMTP_HOST`` / ``SANAD_SMTP_PORT``.
"""

from typing import Self

from pydantic import AliasChoices, Field, SecretStr, model_validator

from sanad.shared.settings import ServiceSettings, dev_secret, service_config
from sanad.shared.topics import SUBSCRIPTIONS


def _env(name: str, shared: str) -> AliasChoices:
    """Read ``SANAD_NOTIFICATIONS_<NAME>`` first, then the platform-wide variable."""
    return AliasChoices(f"SANAD_NOTIFICATIONS_{name}", shared)


class NotificationsSettings(ServiceSettings):
    model_config = service_config("notifications")

    service: str = "notifications"
    port: int = 8005

    # Kafka: one consumer group; tests point it at their own topics.
    consumer_group: str = "notifications"
    topics: tuple[str, ...] = SUBSCRIPTIONS["notifications"]

    # X25519 private key that opens OtpRequested.encrypted_code (identity seals for it).
    otp_private_key: SecretStr = SecretStr(
        dev_secret("aO5pnakYKOwbQbsuCJQLzDV0jdV5pkU2xQ8VZRrri3A")
    )

    # SMS provider (HTTP).
    sms_base_url: str = Field(
        "http://127.0.0.1:8025", validation_alias=_env("SMS_BASE_URL", "SANAD_SMS_BASE_URL")
    )
    sms_api_key: SecretStr = SecretStr(dev_secret("sms-dev-key"))
    sms_sender: str = "SANAD"

    # Email (SMTP).
    smtp_host: str = Field("127.0.0.1", validation_alias=_env("SMTP_HOST", "SANAD_SMTP_HOST"))
    smtp_port: int = Field(1025, validation_alias=_env("SMTP_PORT", "SANAD_SMTP_PORT"))
    smtp_starttls: bool = False
    smtp_tls: bool = False  # implicit TLS (port 465)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    mail_from: str = "Sanad <no-reply@sanad.example>"

    # Delivery worker: retries of transient failures, persisted in the deliveries table.
    # A transient failure is retried until this long after the delivery was queued (an
    # outage of hours still delivers); max_attempts is only a backstop above what the
    # budget allows (45-80 attempts at the default delays, by jitter).
    retry_give_up_after_seconds: float = 6 * 3600.0
    max_attempts: int = 100
    retry_first_delay: float = 2.0  # seconds; doubles each attempt, with jitter
    retry_max_delay: float = 600.0
    # The whole provider call (connect, TLS, every read and write), not one operation.
    send_timeout: float = 10.0
    # A claimed delivery's hold; renewed when its send starts. A 'sending' row past it
    # belonged to a worker that died and is sent again (same idempotency key / Message-ID):
    # it bounds how long a crash delays those messages. Keep it well above send_timeout.
    lease_seconds: float = 40.0  # at least 4 × send_timeout
    worker_batch: int = 100  # at most this many claimed at once, never more than free slots
    # Sends in flight. A claimed batch's sends start (commit send_started_at) together, so
    # keep this near the connections below: a started send waiting for a connection that a
    # crash interrupts is resent after the lease, like one that reached the provider.
    worker_concurrency: int = 100
    sms_connections: int = 50  # kept-alive HTTP connections to the SMS provider
    smtp_connections: int = 50  # SMTP sessions kept open and reused
    worker_poll_interval: float = 0.25

    # What the messages point citizens to.
    portal_url: str = "https://sanad.example"
    appeal_window_days: int = 30

    @model_validator(mode="after")
    def _send_fits_in_the_lease(self) -> Self:
        # A send plus recording it (retried for up to half the lease) must end before the
        # lease does, or another instance would take a row whose send is still running.
        if self.send_timeout * 4 > self.lease_seconds:
            raise ValueError("send_timeout must be at most a quarter of lease_seconds")
        return self
