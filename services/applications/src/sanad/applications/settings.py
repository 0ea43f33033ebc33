"""Settings of the applications service (environment variables prefixed `SANAD_APPLICATIONS_`)."""

from sanad.shared.settings import ServiceSettings, service_config


class ApplicationsSettings(ServiceSettings):
    model_config = service_config("applications")

    service: str = "applications"
    port: int = 8003
