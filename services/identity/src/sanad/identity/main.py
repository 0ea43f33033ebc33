"""The identity service process: registration, sign-in and tokens over HTTP."""

from pathlib import Path

from fastapi import FastAPI

from sanad.identity.api import mobile, registration, sessions
from sanad.identity.runtime import Identity
from sanad.identity.settings import IdentitySettings
from sanad.identity.startup import create_first_admin, seed_civil_registry
from sanad.shared.app import create_service_app
from sanad.shared.auth import JwksVerifier, TokenSigner
from sanad.shared.clock import Clock
from sanad.shared.settings import ServiceSettings, reveal

MIGRATIONS: Path | None = Path(__file__).resolve().parents[3] / "migrations"


def create_app(settings: ServiceSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """The app; tests pass a ``FakeClock`` to move time instead of sleeping."""
    if not isinstance(settings, IdentitySettings):
        settings = IdentitySettings()
    app = create_service_app(
        settings,
        title="Sanad identity",
        redis=True,  # OTP codes, throttles, lockouts
        routers=[registration.router, sessions.router, mobile.router],
        startup=[seed_civil_registry, create_first_admin],
    )
    signer = TokenSigner(reveal(settings.signing_key.get_secret_value()))
    runtime = app.state.runtime
    # Identity verifies its own tokens with its own keys rather than fetching its own JWKS.
    runtime.verifier = JwksVerifier(jwks=signer.jwks())
    app.state.identity = Identity.build(runtime, settings, signer, clock)
    return app
