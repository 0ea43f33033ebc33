"""Settings of the cards service (environment variables prefixed `SANAD_CARDS_`)."""

from sanad.shared.settings import ServiceSettings, service_config


class CardsSettings(ServiceSettings):
    model_config = service_config("cards")

    service: str = "cards"
    port: int = 8006
