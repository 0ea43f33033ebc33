"""Operator commands: add a civil-registry record, create a staff account.

    python -m sanad.identity add-registry-record --national-id 1000000008 --name-ar ... \
        --name-en ... --nationality SA --sex M --birth-date 1990-01-31 --marital-status single \
        [--mobile +966551234567 ...] [--relative-of 1000000008 --relationship son]
    python -m sanad.identity create-user --role caseworker --national-id ... --name ...
        (the password is read from standard input, or asked for on a terminal)
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from sanad.identity.adapters.civil_registry import TableCivilRegistry
from sanad.identity.domain.registry import RELATIONSHIPS, CivilRecord, Relation
from sanad.identity.service.staff import StaffAccountError, create_staff
from sanad.identity.settings import IdentitySettings
from sanad.shared.db import engine_for, session_factory

COMMANDS = ("add-registry-record", "create-user")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sanad.identity")
    sub = parser.add_subparsers(dest="command", required=True)
    record = sub.add_parser("add-registry-record", help="add or correct a civil-registry record")
    record.add_argument("--national-id", required=True)
    record.add_argument("--name-ar", required=True)
    record.add_argument("--name-en", required=True)
    record.add_argument("--nationality", required=True, help="two-letter code: SA, IQ, ...")
    record.add_argument("--sex", required=True, choices=["M", "F"])
    record.add_argument("--birth-date", required=True, help="YYYY-MM-DD")
    record.add_argument("--marital-status", required=True)
    record.add_argument(
        "--mobile",
        action="append",
        default=[],
        help="a mobile registered to this ID (repeatable)",
    )
    record.add_argument(
        "--relative-of", help="national ID of the person this record is a relative of"
    )
    record.add_argument(
        "--relationship",
        choices=RELATIONSHIPS,
        help="what this record is to --relative-of (spouse, son, daughter, father, mother)",
    )
    record.add_argument("--replace", action="store_true", help="overwrite an existing record")
    user = sub.add_parser("create-user", help="create a staff account")
    user.add_argument("--role", required=True, choices=["caseworker", "auditor", "admin"])
    user.add_argument("--national-id", required=True)
    user.add_argument("--name", required=True)
    return parser


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Repeat: ") != first:
            raise StaffAccountError("password: the two entries differ")
        return first
    return sys.stdin.readline().rstrip("\n")


async def _add_record(settings: IdentitySettings, args: argparse.Namespace) -> str:
    record = CivilRecord.parse(
        {
            "national_id": args.national_id,
            "full_name_ar": args.name_ar,
            "full_name_en": args.name_en,
            "nationality": args.nationality,
            "sex": args.sex,
            "birth_date": args.birth_date,
            "marital_status": args.marital_status,
            "mobiles": ";".join(args.mobile),
        }
    )
    if (args.relative_of is None) != (args.relationship is None):
        raise ValueError("relative_of: --relative-of and --relationship go together")
    engine = engine_for(settings)
    try:
        async with session_factory(engine, producer=settings.service)() as session, session.begin():
            registry = TableCivilRegistry(session)
            changed = await registry.add([record], replace=args.replace)
            if not changed:
                raise ValueError("national_id: a record exists (use --replace to overwrite it)")
            if args.relative_of is not None:
                relation = Relation(args.relative_of.strip(), record.national_id, args.relationship)
                if problems := await registry.relate([relation]):
                    raise ValueError("; ".join(problems))  # rolls the record back too
    finally:
        await engine.dispose()
    return "civil-registry record saved"


async def _create_user(settings: IdentitySettings, args: argparse.Namespace) -> str:
    password = _read_password()
    engine = engine_for(settings)
    try:
        account_id = await create_staff(
            session_factory(engine, producer=settings.service),
            settings.pseudonyms,
            national_id=args.national_id,
            role=args.role,
            password=password,
            name=args.name,
        )
    finally:
        await engine.dispose()
    return f"{args.role} account {account_id} created"


def run(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    settings = IdentitySettings()
    action = _add_record if args.command == "add-registry-record" else _create_user
    try:
        print(asyncio.run(action(settings, args)))
    except ValueError as exc:  # StaffAccountError and CivilRecord.parse errors name the field
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
