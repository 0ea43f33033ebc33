"""Settings of the notifications service (environment variables prefixed `SANAD_NOTIFICATIONS_`)."""

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from sanad.shared.settings import ServiceSettings, dev_db_password


class NotificationsSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="SANAD_NOTIFICATIONS_", extra="ignore", populate_by_name=True
    )

    service: str = "notifications"
    port: int = 8005
    uses_database: bool = True
    db_password: SecretStr = SecretStr(dev_db_password("notifications"))
