"""``./sanad demo``: a few citizens go through the running platform, step by step.

Three households, at once, through the gateway only (the SMS sink and the mail catcher stand
for their phones and mailboxes):
- Hind, a widow with two sons, in Arabic: approved for Developed Social Security with the
  benefit the rules give her household; her card is issued, its picture written to a file
  and its QR checked offline with only the keys the cards service publishes;
- Omar, in English, earns too much: refused, with the reason in both languages;
- Sara, in English, approved, then refused the exclusive Iraqi social protection network.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from sanad.platform.journey import (
    IBAN,
    SECTIONS,
    Citizen,
    Person,
    Platform,
    add_to_registry,
    applications_knows,
    new_mobile,
    new_national_id,
    read_card_qr,
    salary,
    verify_offline,
)
from sanad.platform.layout import LOCAL
from sanad.platform.testing import InfrastructureMissing, local_infra

T = TypeVar("T")
COLOURS = {"Hind": "magenta", "Omar": "cyan", "Sara": "yellow"}


class Narrator:
    """Prints each step of one citizen's journey as it happens, with the time since start."""

    def __init__(self, console: Console, name: str, started: float) -> None:
        self.console, self.name, self.started = console, name, started

    def say(self, text: str, *, mark: str = "✓") -> None:
        elapsed = time.monotonic() - self.started
        colour = COLOURS.get(self.name, "white")
        self.console.print(
            f"[dim]{elapsed:5.1f}s[/] [{colour}]{self.name:<5}[/] {mark} {text}", soft_wrap=True
        )

    def message(self, channel: str, text: str) -> None:
        first, *rest = text.strip().splitlines() or [""]
        self.say(f"[bold]{channel}[/] « {first}{' …' if rest else ''} »", mark="✉")
        for line in rest[:4]:
            self.console.print(f"{'':13}{line}", soft_wrap=True)

    async def step(self, what: str, action: Callable[[], Awaitable[T]]) -> T:
        result = await action()
        self.say(what)
        return result


def form(income: str, family_size: int, **extra: Any) -> dict[str, Any]:
    return {
        "monthly_income": income,
        "family_size": family_size,
        "employment_status": "employed",
        "payment": {"method": "iban", "iban": IBAN},
        **extra,
    }


async def newcomer(
    platform: Platform,
    say: Narrator,
    person: Person,
    relatives: list[Person],
    language: str,
) -> Citizen:
    await add_to_registry(person, *relatives)
    say.say(
        f"in the civil registry ({person.name_en}, mobile {person.mobile}"
        + (f", {len(relatives)} children" if relatives else "")
        + ")"
    )
    email = f"{person.name_en.split()[0].lower()}-{uuid.uuid4().hex[:6]}@example.com"
    citizen = await platform.register(person, email=email, language=language)
    [otp] = await platform.sms_to(person.mobile or "", what="the code")
    say.message("SMS", otp["body"])
    say.say(f"registered and signed in (citizen {citizen.id[:8]}…, {email}, {language})")
    return citizen


async def apply(
    platform: Platform,
    db: AsyncEngine,
    say: Narrator,
    citizen: Citizen,
    income: str,
    dependents: list[Person],
) -> str:
    await platform.fill_profile(citizen, SECTIONS | {"income": salary(income)})
    for child in dependents:
        await platform.add_dependent(
            citizen,
            {"full_name": child.name_en, "national_id": child.national_id, "relationship": "son"},
        )
    profile = (await platform.api.get("/v1/profile", headers=citizen.headers)).json()
    household = profile["household"]
    say.say(
        f"profile complete: {len(SECTIONS) + 1} sections, {len(dependents)} dependents "
        f"(household of {household['household_size']}, income {household['total_monthly_income']})"
    )
    checked = await platform.check(citizen, "SSP-DEV")
    benefit = checked.get("monthly_benefit")
    say.say(
        f"eligibility check: {checked['outcome']}"
        + (f", {benefit} SAR a month" if checked["outcome"] == "eligible" else "")
    )
    await applications_knows(db, citizen, int(profile["version"]), platform.wait)
    application_id = await platform.draft(
        citizen, "SSP-DEV", form(income, int(household["household_size"]))
    )
    say.say(f"application {application_id[:8]}… drafted with 4 documents")
    await platform.submit(citizen, application_id)
    say.say("submitted")
    return application_id


async def told(platform: Platform, say: Narrator, citizen: Citizen, count: int) -> None:
    """Show the SMS and email the citizen received beyond the first ``count - 1`` SMS."""
    sms = await platform.sms_to(citizen.mobile, until=lambda m: len(m) >= count, what="SMS")
    say.message("SMS", sms[count - 1]["body"])
    if citizen.email:
        mails = await platform.mail_to(
            citizen.email, until=lambda m: len(m) >= count - 1, what="email"
        )
        say.message("email", f"{mails[count - 2]['subject']}")


def reasons(say: Narrator, decision: dict[str, Any]) -> None:
    for reason in decision["history"][-1]["reasons"]:
        say.say(f"[bold]ar[/] {reason['reason_ar']}", mark="·")
        say.say(f"[bold]en[/] {reason['reason_en']}", mark="·")


async def hind(platform: Platform, db: AsyncEngine, say: Narrator, out: Path) -> None:
    mother = Person(
        new_national_id(), "Hind Abdullah", "هند عبدالله", "1984-09-30", mobile=new_mobile()
    )
    sons = [
        Person(
            new_national_id(),
            name,
            name_ar,
            born,
            sex="M",
            marital_status="single",
            relative_of=mother.national_id,
            relationship="son",
        )
        for name, name_ar, born in (
            ("Fahad Abdullah", "فهد عبدالله", "2012-03-14"),
            ("Khalid Abdullah", "خالد عبدالله", "2015-07-02"),
        )
    ]
    citizen = await newcomer(platform, say, mother, sons, "ar")
    application_id = await apply(platform, db, say, citizen, "900", sons)
    approved = await platform.status_becomes(citizen, application_id, "APPROVED")
    say.say(
        f"[green]APPROVED[/]: {approved['decision']['monthly_benefit']} SAR a month "
        "(1,100 + 2 × 550 − 900)"
    )
    await told(platform, say, citizen, 2)
    [card] = await platform.cards(citizen)
    png = await platform.card_png(citizen, card)
    path = out / f"card-{card['card_number'][-4:]}.png"
    await asyncio.to_thread(path.write_bytes, png)
    say.say(f"card **** {card['card_number'][-4:]} issued; its picture: {path}")
    verdict = verify_offline(read_card_qr(png), await platform.public_keys())
    say.say(
        f"its QR checked offline with only GET /v1/cards/keys: {verdict.result} "
        f"({verdict.claims.holder_name_en if verdict.claims else verdict.reason})"
    )
    await told(platform, say, citizen, 3)


async def omar(platform: Platform, db: AsyncEngine, say: Narrator, out: Path) -> None:
    person = Person(
        new_national_id(),
        "Omar Saleh",
        "عمر صالح",
        "1979-01-22",
        sex="M",
        marital_status="single",
        mobile=new_mobile(),
    )
    citizen = await newcomer(platform, say, person, [], "en")
    application_id = await apply(platform, db, say, citizen, "4200", [])
    rejected = await platform.status_becomes(citizen, application_id, "REJECTED")
    say.say("[red]REJECTED[/], because:")
    reasons(say, rejected)
    await told(platform, say, citizen, 2)


async def sara(platform: Platform, db: AsyncEngine, say: Narrator, out: Path) -> None:
    person = Person(new_national_id(), "Sara Ahmed", "سارة أحمد", "1988-05-10", mobile=new_mobile())
    citizen = await newcomer(platform, say, person, [], "en")
    application_id = await apply(platform, db, say, citizen, "900", [])
    approved = await platform.status_becomes(citizen, application_id, "APPROVED")
    say.say(f"[green]APPROVED[/]: {approved['decision']['monthly_benefit']} SAR a month")
    second = await platform.draft(
        citizen,
        "IQ-SPN",
        form("900", 1, category="widows_divorcees"),
        ("national_id", "family_register", "category_proof", "payment_card"),
    )
    await platform.submit(citizen, second)
    say.say("applied to the social protection network (IQ-SPN) too")
    refused = await platform.status_becomes(citizen, second, "REJECTED")
    say.say("[red]REJECTED[/] (IQ-SPN), because:")
    reasons(say, refused)


async def run_demo(console: Console, out: Path) -> int:
    try:
        infra = local_infra()
    except InfrastructureMissing as exc:
        console.print(f"[bold red]✗ {exc}[/]")
        return 1
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    started = time.monotonic()
    db = create_async_engine(infra.database_admin_url())
    try:
        async with Platform(wait=90) as platform:
            ready = await platform.api.get("/readyz")
            if ready.status_code != 200:
                console.print("[bold red]✗ the gateway is not ready: run ./sanad up[/]")
                return 1
            console.print(
                f"[bold]Sanad demo[/]: three households through {platform.api.base_url} "
                "(SMS sink and mail catcher as their phones and mailboxes)"
            )
            journeys = {"Hind": hind, "Omar": omar, "Sara": sara}
            results = await asyncio.gather(
                *(
                    journey(platform, db, Narrator(console, name, started), out)
                    for name, journey in journeys.items()
                ),
                return_exceptions=True,
            )
    finally:
        await db.dispose()
    failed = [(name, r) for name, r in zip(journeys, results, strict=True) if r is not None]
    for name, error in failed:
        if not isinstance(error, Exception):
            raise error  # interrupted
        console.print(f"[bold red]✗ {name}: {error}[/]")
    elapsed = time.monotonic() - started
    if failed:
        return 1
    console.print(f"[bold green]✓ the demo finished in {elapsed:.0f}s[/]; card pictures in {out}")
    return 0


def demo(out: Path | None = None) -> int:
    console = Console(highlight=False)
    return asyncio.run(run_demo(console, out or LOCAL / "demo"))
