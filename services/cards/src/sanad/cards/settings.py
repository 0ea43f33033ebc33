"""Settings of the cards service (environment variables prefixed `SANAD_CARDS_`)."""

from pydantic import Field, SecretStr

from sanad.shared.settings import ServiceSettings, dev_secret, service_config

# A Fernet key made once with cryptography's Fernet.generate_key(); refused outside dev/test.
DEV_KEY_ENCRYPTION_KEY = "MEDkqDQzF2xyhQh7ORY_cBNrg25eOrVXi3afnROaoc4="


class CardsSettings(ServiceSettings):
    model_config = service_config("cards")

    service: str = "cards"
    port: int = 8006
    # Encrypts the QR signing keys' private halves in the cards schema (Fernet: AES-128-CBC +
    # HMAC-SHA256). Rotating it means re-encrypting the stored keys; losing it, new keys.
    key_encryption_key: SecretStr = SecretStr(dev_secret(DEV_KEY_ENCRYPTION_KEY))
    # During a rotation only: the previous key(s), comma-separated. Keys sealed with one are
    # re-sealed with ``key_encryption_key`` when the service starts; then remove them.
    previous_key_encryption_keys: SecretStr = SecretStr("")

    def previous_keys(self) -> list[str]:
        value = self.previous_key_encryption_keys.get_secret_value()
        return [key.strip() for key in value.split(",") if key.strip()]

    # The issuer named in every card's signed payload (the CWT `iss` claim).
    issuer: str = Field("sanad-cards", min_length=1, max_length=40)
