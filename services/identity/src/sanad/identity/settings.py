"""Settings of the identity service (environment variables prefixed `SANAD_IDENTITY_`)."""

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from sanad.shared.settings import ServiceSettings, dev_db_password


class IdentitySettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="SANAD_IDENTITY_", extra="ignore", populate_by_name=True
    )

    service: str = "identity"
    port: int = 8001
    uses_database: bool = True
    db_password: SecretStr = SecretStr(dev_db_password("identity"))
