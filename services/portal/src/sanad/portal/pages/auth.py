"""Registration with the SMS code, sign-in, sign-out, and the language switch."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from sanad.portal import i18n
from sanad.portal.i18n import N_
from sanad.portal.pages.forms import form_values
from sanad.portal.problems import FormErrors, from_response
from sanad.portal.security import check_csrf
from sanad.portal.session import Tokens
from sanad.portal.web import (
    gateway_of,
    redirect,
    remember_language,
    render,
    safe_next,
    session_of,
)

router = APIRouter(dependencies=[Depends(check_csrf)])

WRONG_CREDENTIALS = N_("The national ID or the password is wrong.")


def home_of(role: str | None) -> str:
    return "/review" if role == "caseworker" else "/"


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str = "") -> Response:
    return render(request, "login.html", next=safe_next(next, ""))


@router.post("/login")
async def login(request: Request) -> Response:
    values = await form_values(request)
    answer = await gateway_of(request).request(
        "POST",
        "/v1/auth/login",
        json={
            "national_id": values.get("national_id", ""),
            "password": values.get("password", ""),
        },
    )
    if answer.status_code != 200:
        errors = from_response(answer)
        if answer.status_code == 401:
            errors = FormErrors(general=[i18n.gettext(WRONG_CREDENTIALS)])
        values.pop("password", None)
        return render(
            request,
            "login.html",
            status=answer.status_code if answer.status_code < 500 else 503,
            errors=errors,
            values=values,
            next=safe_next(values.get("next"), ""),
        )
    tokens = Tokens.from_answer(answer.json())
    session = session_of(request)
    session.start(tokens)
    return redirect(safe_next(values.get("next"), home_of(session.role)))


@router.get("/register", response_class=HTMLResponse)
async def register_page(request: Request) -> Response:
    return render(request, "register.html")


@router.post("/register")
async def register(request: Request) -> Response:
    values = await form_values(request)
    body: dict[str, str] = {
        "national_id": values.get("national_id", ""),
        "date_of_birth": values.get("date_of_birth", ""),
        "mobile": values.get("mobile", ""),
        "password": values.get("password", ""),
        "preferred_language": i18n.current().code,
    }
    if values.get("email"):
        body["email"] = values["email"]
    answer = await gateway_of(request).request("POST", "/v1/auth/register", json=body)
    if answer.status_code != 202:
        values.pop("password", None)
        return render(
            request,
            "register.html",
            status=answer.status_code if answer.status_code < 500 else 503,
            errors=from_response(answer),
            values=values,
        )
    return redirect(f"/register/verify?registration={answer.json()['registration_id']}")


@router.get("/register/verify", response_class=HTMLResponse)
async def verify_page(request: Request, registration: str = "") -> Response:
    return render(request, "verify.html", registration_id=registration)


@router.post("/register/verify")
async def verify(request: Request) -> Response:
    values = await form_values(request)
    registration_id = values.get("registration_id", "")
    answer = await gateway_of(request).request(
        "POST",
        "/v1/auth/register/verify",
        json={"registration_id": registration_id, "code": values.get("code", "")},
    )
    if answer.status_code != 201:
        return render(
            request,
            "verify.html",
            status=answer.status_code if answer.status_code < 500 else 503,
            errors=from_response(answer),
            registration_id=registration_id,
        )
    return redirect("/login?notice=registered")


@router.post("/register/resend")
async def resend(request: Request) -> Response:
    values = await form_values(request)
    registration_id = values.get("registration_id", "")
    answer = await gateway_of(request).request(
        "POST", "/v1/auth/register/resend", json={"registration_id": registration_id}
    )
    if answer.status_code != 202:
        return render(
            request,
            "verify.html",
            status=answer.status_code if answer.status_code < 500 else 503,
            errors=from_response(answer),
            registration_id=registration_id,
        )
    return redirect(f"/register/verify?registration={registration_id}&notice=code_sent")


@router.post("/logout")
async def logout(request: Request) -> Response:
    await session_of(request).logout()
    return redirect("/login?notice=signed_out")


@router.post("/language")
async def switch_language(request: Request) -> Response:
    values = await form_values(request)
    response = redirect(safe_next(values.get("next")))
    remember_language(response, request, values.get("lang", i18n.DEFAULT_LANGUAGE))
    return response
