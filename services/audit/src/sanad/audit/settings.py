"""Settings of the audit service (environment variables prefixed `SANAD_AUDIT_`)."""

from sanad.shared.settings import ServiceSettings, service_config


class AuditSettings(ServiceSettings):
    model_config = service_config("audit")

    service: str = "audit"
    port: int = 8007
