"""Settings of the eligibility service (environment variables prefixed `SANAD_ELIGIBILITY_`)."""

from sanad.shared.settings import ServiceSettings, service_config


class EligibilitySettings(ServiceSettings):
    model_config = service_config("eligibility")

    service: str = "eligibility"
    port: int = 8004
