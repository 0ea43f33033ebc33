"""Settings of the portal (environment variables prefixed `SANAD_PORTAL_`).

The portal holds no database and no secret of its own: it calls the gateway's public API
(``SANAD_GATEWAY_URL``, the platform-wide address every process gets) with the signed-in
person's tokens, which live only in their browser's HttpOnly cookies.
"""

from pydantic import Field

from sanad.shared.settings import ServiceSettings, service_config

MB = 1_000_000


class PortalSettings(ServiceSettings):
    model_config = service_config("portal")

    service: str = "portal"
    port: int = 8008
    uses_database: bool = False

    gateway_url: str = Field("http://127.0.0.1:8000", validation_alias="SANAD_GATEWAY_URL")
    # Seconds to wait for the gateway (an upload of 10 MB included).
    gateway_timeout: float = 30.0
    # Cookies carry `Secure` when the page was served over TLS; set this behind a proxy that
    # terminates TLS (the portal then sees plain HTTP).
    cookie_secure: bool = False
    # Largest document the portal accepts before forwarding (the applications service's own
    # limit is checked again there).
    max_upload_bytes: int = 10 * MB
    # The language of a first visit: `ar` (right to left) or `en`.
    default_language: str = "ar"
