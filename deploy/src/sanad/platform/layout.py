"""Where the local platform keeps its files, and which ports it uses (each overridable)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[4]
LOCAL = Path(os.environ.get("SANAD_LOCAL_DIR", REPO / ".local"))  # git-ignored
LOGS = LOCAL / "logs"
RUN = LOCAL / "run"


def env_port(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    default_port: int
    uses_database: bool = True

    @property
    def port_variable(self) -> str:
        return f"SANAD_{self.name.upper()}_PORT"

    @property
    def port(self) -> int:
        return env_port(self.port_variable, self.default_port)


# Start order: the gateway after what it fronts, the portal (web front end) after the gateway.
SERVICES: tuple[ServiceInfo, ...] = (
    ServiceInfo("identity", 8001),
    ServiceInfo("profile", 8002),
    ServiceInfo("applications", 8003),
    ServiceInfo("eligibility", 8004),
    ServiceInfo("notifications", 8005),
    ServiceInfo("cards", 8006),
    ServiceInfo("audit", 8007),
    ServiceInfo("gateway", 8000, uses_database=False),
    ServiceInfo("portal", 8008, uses_database=False),
)


def service_info(name: str) -> ServiceInfo:
    return next(info for info in SERVICES if info.name == name)


# Infrastructure ports: (environment variable, default).
KAFKA_PORT = ("SANAD_KAFKA_PORT", 9092)
KAFKA_CONTROLLER_PORT = ("SANAD_KAFKA_CONTROLLER_PORT", 9093)
PG_PORT = ("SANAD_PG_PORT", 5432)
REDIS_PORT = ("SANAD_REDIS_PORT", 6379)
SMS_SINK_PORT = ("SANAD_SMS_SINK_PORT", 8025)
MAIL_SMTP_PORT = ("SANAD_MAIL_SMTP_PORT", 1025)
MAIL_HTTP_PORT = ("SANAD_MAIL_HTTP_PORT", 1080)


def port(spec: tuple[str, int]) -> int:
    return env_port(*spec)
