"""Operator commands: add a civil-registry record, create a staff account, re-announce every
account's pseudonyms after the pseudonym key was rotated.

    python -m sanad.identity add-registry-record --national-id 1000000008 --name-ar ... \
        --name-en ... --nationality SA --sex M --birth-date 1990-01-31 --marital-status single \
        [--mobile +966551234567 ...] [--relative-of 1000000008 --relationship son]
    python -m sanad.identity create-user --role caseworker --national-id ... --name ...
        (the password is read from standard input, or asked for on a terminal)
    python -m sanad.identity rekey-pseudonyms [--batch-size 200]
        (after SANAD_PSEUDONYM_KEY / _KEY_ID changed and the old key moved to
        SANAD_PSEUDONYM_PREVIOUS_KEYS; resumable, and a second run does nothing)
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from sanad.identity.adapters.civil_registry import TableCivilRegistry
from sanad.identity.domain.registry import RELATIONSHIPS, CivilRecord, Relation
from sanad.identity.service.pseudonym_rotation import BATCH_SIZE, rekey_all
from sanad.identity.service.staff import StaffAccountError, create_staff
from sanad.identity.settings import IdentitySettings
from sanad.shared.db import engine_for, session_factory

COMMANDS = ("add-registry-record", "create-user", "rekey-pseudonyms")


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
    rekey = sub.add_parser(
        "rekey-pseudonyms",
        help="after a pseudonym key rotation, re-announce every account under the new key",
    )
    rekey.add_argument(
        "--batch-size",
        type=int,
        default=BATCH_SIZE,
        help=f"accounts per transaction (default {BATCH_SIZE})",
    )
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


def _show_progress(done: int, total: int) -> None:
    share = f" ({100 * done // total}%)" if total else ""
    print(f"  {done} / {total} accounts re-announced{share}", file=sys.stderr, flush=True)


async def rekey(settings: IdentitySettings, args: argparse.Namespace) -> str:
    if not 1 <= args.batch_size <= 10_000:
        raise ValueError("batch_size: between 1 and 10000")
    pseudonyms = settings.pseudonyms
    if not pseudonyms.previous_ids:
        raise ValueError(
            "SANAD_PSEUDONYM_PREVIOUS_KEYS: no previous key is set, so there is nothing to "
            "re-key (set the old key there as id:key)"
        )
    print(
        f"re-announcing accounts under {', '.join(pseudonyms.previous_ids)} "
        f"under {pseudonyms.key_id}",
        file=sys.stderr,
    )
    engine = engine_for(settings)
    try:
        report = await rekey_all(
            session_factory(engine, producer=settings.service),
            pseudonyms,
            batch_size=args.batch_size,
            progress=_show_progress,
        )
    finally:
        await engine.dispose()
    summary = f"{report.rekeyed} accounts re-announced under {pseudonyms.key_id}"
    if report.unheld:
        left = ", ".join(f"{n} under {key_id}" for key_id, n in sorted(report.unheld.items()))
        summary += f"; left (their key is not held, add it to the previous keys): {left}"
    return summary


def run(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    settings = IdentitySettings()
    action = {
        "add-registry-record": _add_record,
        "create-user": _create_user,
        "rekey-pseudonyms": rekey,
    }[args.command]
    try:
        print(asyncio.run(action(settings, args)))
    except ValueError as exc:  # StaffAccountError and CivilRecord.parse errors name the field
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
