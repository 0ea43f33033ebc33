"""What every audit command answers: checks with counts and first examples, rendered as
JSON (for scripts) and Markdown (for people). A report is clean when no check failed."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

EXAMPLES = 10


@dataclass
class Check:
    name: str
    title: str
    checked: int = 0
    failures: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)

    def passed(self) -> None:
        self.checked += 1

    def fail(self, **example: Any) -> None:
        self.checked += 1
        self.failures += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(example)

    @property
    def ok(self) -> bool:
        return self.failures == 0


@dataclass
class Report:
    command: str
    scope: dict[str, Any]
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    generation: str | None = None
    figures: dict[str, Any] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    timeline: list[dict[str, Any]] = field(default_factory=list)

    @property
    def discrepancies(self) -> int:
        return sum(c.failures for c in self.checks)

    @property
    def ok(self) -> bool:
        return self.discrepancies == 0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        data["discrepancies"] = self.discrepancies
        return data

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.to_json(), option=orjson.OPT_INDENT_2, default=str)

    def to_markdown(self) -> str:
        lines = [
            f"# Sanad audit: {self.command}",
            "",
            f"- started: {self.started_at}",
            f"- scope: {_scope_words(self.scope)}",
        ]
        if self.generation:
            lines.append(f"- generation: `{self.generation}`")
        lines.append(
            f"- result: **{'clean' if self.ok else f'{self.discrepancies} discrepancies'}**"
        )
        if self.figures:
            lines += ["", "| figure | value |", "|---|---|"]
            lines += [f"| {k} | {_cell(v)} |" for k, v in self.figures.items()]
        if self.checks:
            lines += ["", "| check | checked | failures |", "|---|---:|---:|"]
            for check in self.checks:
                mark = "✓" if check.ok else "✗"
                lines.append(f"| {mark} {check.title} | {check.checked} | {check.failures} |")
            for check in self.checks:
                if check.ok and not check.notes:
                    continue
                lines += ["", f"## {check.title}"]
                for key, value in check.notes.items():
                    lines.append(f"- {key}: {_cell(value)}")
                for example in check.examples:
                    lines.append("- " + "; ".join(f"{k}: {_cell(v)}" for k, v in example.items()))
        if self.timeline:
            lines += [
                "",
                "| at | event | v | summary | correlation | event id |",
                "|---|---|---|---|---|---|",
            ]
            for item in self.timeline:
                lines.append(
                    f"| {item['occurred_at']} | {item['event_type']} | {item['schema_version']} "
                    f"| {item['summary']} | {item['correlation_id']} | {item['event_id']} |"
                )
        return "\n".join(lines) + "\n"


def _scope_words(scope: dict[str, Any]) -> str:
    parts = []
    if scope.get("citizens"):
        parts.append(f"{len(scope['citizens'])} citizen(s)")
    if scope.get("applications"):
        parts.append(f"{len(scope['applications'])} application(s)")
    if scope.get("since"):
        parts.append(f"since {scope['since']}")
    return ", ".join(parts) or "every event"


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value, default=str).decode()
    return text.replace("|", "\\|").replace("\n", " ")
