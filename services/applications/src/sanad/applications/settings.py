"""Settings of the applications service (environment variables prefixed `SANAD_APPLICATIONS_`)."""

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from sanad.shared.settings import ServiceSettings, dev_db_password


class ApplicationsSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="SANAD_APPLICATIONS_", extra="ignore", populate_by_name=True
    )

    service: str = "applications"
    port: int = 8003
    uses_database: bool = True
    db_password: SecretStr = SecretStr(dev_db_password("applications"))
