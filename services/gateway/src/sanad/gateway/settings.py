"""Settings of the gateway service (environment variables prefixed `SANAD_GATEWAY_`)."""

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from sanad.shared.settings import ServiceSettings, dev_db_password


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="SANAD_GATEWAY_", extra="ignore", populate_by_name=True
    )

    service: str = "gateway"
    port: int = 8000
    uses_database: bool = False
    db_password: SecretStr = SecretStr(dev_db_password("gateway"))
