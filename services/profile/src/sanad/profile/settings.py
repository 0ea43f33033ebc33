"""Settings of the profile service (environment variables prefixed `SANAD_PROFILE_`)."""

from pydantic import Field

from sanad.shared.settings import ServiceSettings, hot_path_workers, service_config


class ProfileSettings(ServiceSettings):
    model_config = service_config("profile")

    service: str = "profile"
    port: int = 8002
    workers: int = Field(default_factory=hot_path_workers, ge=1, le=64)
    # The citizen plus their dependents (SANAD_PROFILE_MAX_HOUSEHOLD_SIZE).
    max_household_size: int = Field(20, ge=1, le=100)
