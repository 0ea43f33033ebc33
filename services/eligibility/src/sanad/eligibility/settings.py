"""Settings of the eligibility service (environment variables prefixed `SANAD_ELIGIBILITY_`)."""

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from sanad.shared.settings import ServiceSettings, dev_db_password


class EligibilitySettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="SANAD_ELIGIBILITY_", extra="ignore", populate_by_name=True
    )

    service: str = "eligibility"
    port: int = 8004
    uses_database: bool = True
    db_password: SecretStr = SecretStr(dev_db_password("eligibility"))
