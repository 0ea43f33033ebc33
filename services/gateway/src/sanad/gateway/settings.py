"""Settings of the gateway service (environment variables prefixed `SANAD_GATEWAY_`).

The downstream addresses are the platform-wide ``SANAD_<SERVICE>_URL`` variables every
process gets; their defaults are the local platform's ports.
"""

import json
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from sanad.shared.settings import ServiceSettings, hot_path_workers, service_config

MiB = 1024 * 1024


class GatewaySettings(ServiceSettings):
    model_config = service_config("gateway")

    service: str = "gateway"
    port: int = 8000
    workers: int = Field(default_factory=hot_path_workers, ge=1, le=64)
    uses_database: bool = False
    uses_kafka: bool = False
    uses_redis: bool = True  # rate limits

    identity_url: str = Field("http://127.0.0.1:8001", validation_alias="SANAD_IDENTITY_URL")
    profile_url: str = Field("http://127.0.0.1:8002", validation_alias="SANAD_PROFILE_URL")
    applications_url: str = Field(
        "http://127.0.0.1:8003", validation_alias="SANAD_APPLICATIONS_URL"
    )
    eligibility_url: str = Field("http://127.0.0.1:8004", validation_alias="SANAD_ELIGIBILITY_URL")
    notifications_url: str = Field(
        "http://127.0.0.1:8005", validation_alias="SANAD_NOTIFICATIONS_URL"
    )
    cards_url: str = Field("http://127.0.0.1:8006", validation_alias="SANAD_CARDS_URL")
    audit_url: str = Field("http://127.0.0.1:8007", validation_alias="SANAD_AUDIT_URL")

    # Upstream timeouts (seconds): a service that is down must answer 503 quickly, not hang.
    connect_timeout: float = 2.0
    read_timeout: float = 30.0
    max_connections: int = 200
    readiness_timeout: float = 1.5

    # Largest request body forwarded (document uploads are the big ones).
    max_body_bytes: int = Field(10 * MiB, ge=1)

    # Fixed-window rate limits, counted in Redis so every gateway replica shares them.
    rate_limit_window_seconds: int = 60
    rate_limit_per_ip: int = 600
    rate_limit_per_user: int = 300

    # Origins allowed by CORS: a JSON list or comma-separated; empty turns CORS off.
    cors_origins: Annotated[list[str], NoDecode] = [
        "http://localhost:3000",
        "http://127.0.0.1:3000",
    ]

    openapi_cache_seconds: float = 30.0

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [origin.strip() for origin in text.split(",") if origin.strip()]
        return value

    def upstreams(self) -> dict[str, str]:
        """Service name → base URL, for every service the gateway fronts."""
        return {
            "identity": self.identity_url,
            "profile": self.profile_url,
            "applications": self.applications_url,
            "eligibility": self.eligibility_url,
            "notifications": self.notifications_url,
            "cards": self.cards_url,
            "audit": self.audit_url,
        }
