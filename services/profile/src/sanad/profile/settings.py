"""Settings of the profile service (environment variables prefixed `SANAD_PROFILE_`)."""

from typing import Self

from pydantic import Field, PrivateAttr, SecretStr, model_validator

from sanad.shared.pseudonym import (
    Pseudonyms,
    previous_pseudonym_keys_field,
    pseudonym_key_field,
    pseudonym_key_id_field,
)
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
    # Its id (published beside every pseudonym) and, after a rotation, the previous keys as
    # "id:key,..." (README, Security, "The pseudonym key").
    pseudonym_key_id: str = pseudonym_key_id_field("profile")
    pseudonym_previous_keys: SecretStr | None = previous_pseudonym_keys_field("profile")
    _pseudonyms: Pseudonyms | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _pseudonym_keys_usable(self) -> Self:
        """Bad pseudonym keys stop the service at start-up, not at the first registration."""
        self._pseudonyms = Pseudonyms.from_settings(
            self.pseudonym_key,
            self.pseudonym_key_id,
            self.pseudonym_previous_keys,
            allow_dev=self.environment in ("dev", "test"),
        )
        return self

    @property
    def pseudonyms(self) -> Pseudonyms:
        """The key ring: the current key and the previous ones."""
        assert self._pseudonyms is not None
        return self._pseudonyms
