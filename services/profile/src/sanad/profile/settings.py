"""Settings of the profile service (environment variables prefixed `SANAD_PROFILE_`)."""

from pydantic import Field, SecretStr

from sanad.shared.pseudonym import (
    HoldsPseudonymKeys,
    previous_pseudonym_keys_field,
    pseudonym_key_field,
    pseudonym_key_id_field,
)
from sanad.shared.settings import ServiceSettings, hot_path_workers, service_config


class ProfileSettings(ServiceSettings, HoldsPseudonymKeys):
    model_config = service_config("profile")

    service: str = "profile"
    port: int = 8002
    workers: int = Field(default_factory=hot_path_workers, ge=1, le=64)
    # The citizen plus their dependents (SANAD_PROFILE_MAX_HOUSEHOLD_SIZE).
    max_household_size: int = Field(20, ge=1, le=100)
    # Identity's key for national IDs' pseudonyms: a dependent typed in is compared with the
    # family register, the accounts and the staff by pseudonym (SANAD_PSEUDONYM_KEY).
    pseudonym_key: SecretStr = pseudonym_key_field("profile")
    # Its id (published beside every pseudonym) and, after a rotation, the previous keys as
    # "id:key,..." (README, Security, "The pseudonym key").
    pseudonym_key_id: str = pseudonym_key_id_field("profile")
    pseudonym_previous_keys: SecretStr | None = previous_pseudonym_keys_field("profile")
