"""Settings of the audit service (environment variables prefixed `SANAD_AUDIT_`)."""

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from sanad.shared.settings import ServiceSettings, dev_db_password


class AuditSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="SANAD_AUDIT_", extra="ignore", populate_by_name=True
    )

    service: str = "audit"
    port: int = 8007
    uses_database: bool = True
    db_password: SecretStr = SecretStr(dev_db_password("audit"))
