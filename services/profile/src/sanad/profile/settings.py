"""Settings of the profile service (environment variables prefixed `SANAD_PROFILE_`)."""

from pydantic import SecretStr
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
