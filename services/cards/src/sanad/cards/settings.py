"""Settings of the cards service (environment variables prefixed `SANAD_CARDS_`)."""

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from sanad.shared.settings import ServiceSettings, dev_db_password


class CardsSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="SANAD_CARDS_", extra="ignore", populate_by_name=True
    )

    service: str = "cards"
    port: int = 8006
    uses_database: bool = True
    db_password: SecretStr = SecretStr(dev_db_password("cards"))
