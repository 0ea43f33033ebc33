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
    # The issuer named in every card's signed payload (the CWT `iss` claim).
    issuer: str = Field("sanad-cards", min_length=1, max_length=40)
