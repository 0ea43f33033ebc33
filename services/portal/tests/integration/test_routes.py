"""The portal's own guarantees, in-process against the real gateway: security headers and
CSP on every page, CSRF refusals that reach nothing, the session cookies' flags, refresh
through identity's refresh token, logout revoking it, the remembered language, and a
gateway problem shown beside its field."""

from __future__ import annotations

import re
from http.cookies import SimpleCookie

import httpx
import pytest

from sanad.portal.session import ACCESS_COOKIE, REFRESH_COOKIE

from .conftest import GATEWAY, Citizen, csrf_of, portal_client

# The first test also registers the module's citizen (identity's CLI, argon2): slow on a
# busy machine.
pytestmark = pytest.mark.timeout(300)


def cookies_set(response: httpx.Response) -> dict[str, str]:
    """Each Set-Cookie header by cookie name (the whole header, attributes included)."""
    found = {}
    for header in response.headers.get_list("set-cookie"):
        name = header.split("=", 1)[0]
        found[name] = header
    return found


def attributes(header: str) -> dict[str, str]:
    parsed = SimpleCookie()
    parsed.load(header)
    morsel = next(iter(parsed.values()))
    return {key: str(morsel[key]) for key in morsel.keys() if morsel[key]}


async def sign_in(portal: httpx.AsyncClient, citizen: Citizen) -> httpx.Response:
    token = await csrf_of(portal)
    return await portal.post(
        "/login",
        data={
            "csrf_token": token,
            "national_id": citizen.person.national_id,
            "password": citizen.person.password,
        },
    )


async def test_every_page_carries_a_strict_csp_and_the_security_headers(
    portal: httpx.AsyncClient,
) -> None:
    for path in ("/", "/login", "/register", "/programs", "/programs/SSP-DEV"):
        page = await portal.get(path)
        assert page.status_code == 200, path
        csp = page.headers["content-security-policy"]
        assert csp.startswith("default-src 'self'") and "unsafe" not in csp
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["cache-control"] == "no-store"
        assert '<html lang="ar" dir="rtl">' in page.text
        assert "<script>" not in page.text and " style=" not in page.text  # nothing inline


async def test_a_form_without_its_csrf_token_is_refused_before_the_gateway(
    portal: httpx.AsyncClient, citizen: Citizen
) -> None:
    token = await csrf_of(portal)
    credentials = {
        "national_id": citizen.person.national_id,
        "password": citizen.person.password,
    }
    for data, headers in (
        (credentials, {}),  # no token
        (credentials | {"csrf_token": "forged"}, {}),  # not the cookie's
        (credentials | {"csrf_token": token}, {"Origin": "https://evil.example"}),
    ):
        refused = await portal.post("/login", data=data, headers=headers)
        assert refused.status_code == 403
        assert ACCESS_COOKIE not in cookies_set(refused)  # nothing was signed in
    # Another browser (no cookie) sending a token it read elsewhere is refused too.
    async with portal_client() as stranger:
        refused = await stranger.post("/login", data=credentials | {"csrf_token": token})
        assert refused.status_code == 403
    # With the token, the same request signs in.
    assert (await sign_in(portal, citizen)).status_code == 303


async def test_the_session_lives_in_httponly_samesite_strict_cookies(
    portal: httpx.AsyncClient, citizen: Citizen
) -> None:
    signed_in = await sign_in(portal, citizen)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/"
    cookies = cookies_set(signed_in)
    for name in (ACCESS_COOKIE, REFRESH_COOKIE):
        flags = attributes(cookies[name])
        assert flags["httponly"] and flags["samesite"].lower() == "strict"
        assert flags["path"] == "/" and "secure" not in flags  # plain HTTP here
    home = await portal.get("/")
    access = portal.cookies[ACCESS_COOKIE]
    assert access not in home.text and portal.cookies[REFRESH_COOKIE] not in home.text
    # Over TLS the cookies are Secure.
    async with portal_client("https://portal.test") as tls:
        flags = attributes(cookies_set(await sign_in(tls, citizen))[ACCESS_COOKIE])
        assert flags["secure"]


async def test_an_expired_session_is_refreshed_and_logout_revokes_it(
    portal: httpx.AsyncClient, citizen: Citizen
) -> None:
    await sign_in(portal, citizen)
    first_refresh = portal.cookies[REFRESH_COOKIE]
    portal.cookies.delete(ACCESS_COOKIE)  # the access token's cookie expired
    profile = await portal.get("/profile")
    assert profile.status_code == 200 and "نور سالم" in profile.text
    renewed = cookies_set(profile)
    assert ACCESS_COOKIE in renewed and REFRESH_COOKIE in renewed
    second_refresh = portal.cookies[REFRESH_COOKIE]
    assert second_refresh != first_refresh  # rotated by identity

    token = await csrf_of(portal, "/profile")
    out = await portal.post("/logout", data={"csrf_token": token})
    assert out.status_code == 303 and out.headers["location"].startswith("/login")
    cleared = cookies_set(out)
    assert 'sanad_access=""' in cleared[ACCESS_COOKIE] or "Max-Age=0" in cleared[ACCESS_COOKIE]
    async with httpx.AsyncClient(base_url=GATEWAY) as api:
        revoked = await api.post("/v1/auth/refresh", json={"refresh_token": second_refresh})
        assert revoked.status_code == 401
    assert (await portal.get("/profile")).status_code == 303  # to the sign-in page


async def test_the_language_switch_is_remembered(portal: httpx.AsyncClient) -> None:
    token = await csrf_of(portal, "/programs")
    switched = await portal.post(
        "/language", data={"csrf_token": token, "lang": "en", "next": "/programs"}
    )
    assert switched.status_code == 303 and switched.headers["location"] == "/programs"
    assert attributes(cookies_set(switched)["lang"])["max-age"] == str(365 * 24 * 3600)
    page = await portal.get("/programs")
    assert '<html lang="en" dir="ltr">' in page.text and "Support programs" in page.text
    hostile = await portal.post(
        "/language", data={"csrf_token": token, "lang": "ar", "next": "//evil.example/"}
    )
    assert hostile.headers["location"] == "/"


async def test_a_gateway_problem_is_shown_beside_its_field_in_the_page_language(
    portal: httpx.AsyncClient,
) -> None:
    token = await csrf_of(portal, "/register")
    form = {
        "csrf_token": token,
        "national_id": "1000000009",  # a wrong check digit
        "date_of_birth": "1990-01-01",
        "mobile": "0551234567",
        "password": "Long-enough-passphrase-1",
    }
    refused = await portal.post("/register", data=form)
    assert refused.status_code == 422
    error = re.search(r'data-error-for="national_id">([^<]+)<', refused.text)
    assert error and re.search(r"[\u0600-\u06FF]", error.group(1))
    assert 'id="f-national_id"' in refused.text and 'aria-invalid="true"' in refused.text
    assert 'value="1000000009"' in refused.text  # the form keeps what was typed
    assert "Long-enough-passphrase-1" not in refused.text  # but never the password

    portal.cookies.set("lang", "en")
    refused = await portal.post("/register", data=form)
    error = re.search(r'data-error-for="national_id">([^<]+)<', refused.text)
    assert error and not re.search(r"[\u0600-\u06FF]", error.group(1))
