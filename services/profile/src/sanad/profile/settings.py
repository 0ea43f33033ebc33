"""Settings of the profile service (environment variables prefixed `SANAD_PROFILE_`)."""

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from sanad.shared.settings import ServiceSettings, dev_db_password


class ProfileSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="SANAD_PROFILE_", extra="ignore", populate_by_name=True
    )

    service: str = "profile"
    port: int = 8002
    uses_database: bool = True
    db_password: SecretStr = SecretStr(dev_db_password("profile"))
    # The citizen plus their dependents (SANAD_PROFILE_MAX_HOUSEHOLD_SIZE).
    max_household_size: int = Field(20, ge=1, le=100)
