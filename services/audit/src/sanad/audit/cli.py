"""``python -m sanad.audit replay|verify|reproduce|compare|timeline``: the audit from a
terminal — a progress bar while the topics are read, a summary table, and the report
written as JSON and Markdown. Exit 0 when nothing is wrong, 1 on any discrepancy, 2 on a
usage or configuration error."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime
from pathlib import Path
from uuid import UUID

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from sanad.audit import service
from sanad.audit.domain.records import Scope
from sanad.audit.domain.report import Report
from sanad.audit.settings import AuditSettings

COMMANDS = ("replay", "verify", "reproduce", "compare", "timeline")
CLEAN, DISCREPANCY, USAGE = 0, 1, 2


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m sanad.audit")
    sub = top.add_subparsers(dest="command", required=True)
    helps = {
        "replay": "read every event topic and rebuild the projections as a new generation",
        "verify": "check every envelope, id, order, cause and decision in the stream",
        "reproduce": "re-run every recorded evaluation and compare",
        "compare": "replay, then compare the projections with the live services",
    }
    for name, text in helps.items():
        command = sub.add_parser(name, help=text)
        command.add_argument("--citizen", action="append", default=[], metavar="ID")
        command.add_argument("--application", action="append", default=[], metavar="ID")
        command.add_argument(
            "--since",
            type=datetime.fromisoformat,
            help="ISO time: read from the first offset at or after it",
        )
        _common(command)
    case = sub.add_parser("timeline", help="one application's or citizen's story, in order")
    case.add_argument("case_id", type=UUID, help="an application id or a citizen id")
    _common(case)
    return top


def _common(command: argparse.ArgumentParser) -> None:
    command.add_argument("--out", type=Path, default=Path("audit-reports"), help="report folder")
    command.add_argument("--quiet", action="store_true", help="no progress bar or table")


async def run(args: argparse.Namespace, settings: AuditSettings, console: Console) -> Report:
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=args.quiet,
        transient=False,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total or 1)
            bar.update(tasks[phase], completed=done, total=total or 1)

        if args.command == "timeline":
            return await service.timeline(settings, args.case_id, progress)
        scope = Scope.of(args.citizen, args.application, args.since)
        if args.command == "replay":
            report, _ = await service.replay(settings, scope, progress)
            return report
        use_case = {
            "verify": service.verify,
            "reproduce": service.reproduce,
            "compare": service.compare,
        }[args.command]
        return await use_case(settings, scope, progress)


def summary(report: Report) -> Table:
    if report.timeline:
        table = Table(title=f"timeline of {report.scope.get('case')}")
        for column in ("at", "event", "summary", "correlation id"):
            table.add_column(column)
        for item in report.timeline:
            table.add_row(
                item["occurred_at"],
                f"{item['event_type']} v{item['schema_version']}",
                item["summary"],
                item["correlation_id"] or "",
            )
        return table
    table = Table(
        title=f"audit {report.command}: "
        + ("clean" if report.ok else f"{report.discrepancies} discrepancies")
    )
    table.add_column("check / figure")
    table.add_column("checked", justify="right")
    table.add_column("failures", justify="right")
    for name, value in report.figures.items():
        table.add_row(name, str(value), "")
    for check in report.checks:
        style = "green" if check.ok else "bold red"
        table.add_row(check.title, str(check.checked), f"[{style}]{check.failures}[/]")
    return table


def write(report: Report, folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = report.started_at.replace(":", "").replace("-", "").split(".")[0]
    stem = folder / f"audit-{report.command}-{stamp}"
    json_path, markdown_path = stem.with_suffix(".json"), stem.with_suffix(".md")
    json_path.write_bytes(report.to_bytes())
    markdown_path.write_text(report.to_markdown(), encoding="utf-8")
    return json_path, markdown_path


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        settings = AuditSettings()
    except ValueError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return USAGE
    console = Console(stderr=True)
    report = asyncio.run(run(args, settings, console))
    json_path, markdown_path = write(report, args.out)
    if not args.quiet:
        console.print(summary(report))
    console.print(f"report: {json_path} · {markdown_path}")
    return CLEAN if report.ok else DISCREPANCY
