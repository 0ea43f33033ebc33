"""Settings of the profile service (environment variables prefixed `SANAD_PROFILE_`)."""

from pydantic import Field, SecretStr

from sanad.shared.pseudonym import Pseudonyms, pseudonym_key_field
from sanad.shared.settings import ServiceSettings, hot_path_workers, service_config


class ProfileSettings(ServiceSettings):
    model_config = service_config("profile")

    service: str = "profile"
    port: int = 8002
    workers: int = Field(default_factory=hot_path_workers, ge=1, le=64)
    # The citizen plus their dependents (SANAD_PROFILE_MAX_HOUSEHOLD_SIZE).
    max_household_size: int = Field(20, ge=1, le=100)
    # Identity's key for national IDs' pseudonyms: a dependent typed in is compared with the
    # family register, the accounts and the staff by pseudonym (SANAD_PSEUDONYM_KEY).
    pseudonym_key: SecretStr = pseudonym_key_field("profile")

    @property
    def pseudonyms(self) -> Pseudonyms:
        return Pseudonyms(self.pseudonym_key)
