"""Evaluating a compiled rule set on facts, criterion by criterion, with the explanation.

Each criterion is evaluated on its own and records its status, what it observed and what it
required, the facts it read and its reasons in Arabic and English. The outcome:
``ineligible`` if a criterion whose failure means ineligibility failed; otherwise
``incomplete`` if a fact was unknown or an ``incomplete`` criterion failed (missing
documents), listing what is missing; otherwise ``review`` if a ``review`` criterion failed;
otherwise ``eligible``. The benefit is computed for ``eligible`` (and shown for ``review``),
rounded to the riyal, never negative; ``0`` when ineligible.

Everything here is a pure function of (rule set, facts, date): the same inputs give the same
result, which is what replay relies on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import cel
import orjson

from sanad.eligibility.domain.facts import CATALOG, Facts, FactType
from sanad.eligibility.domain.money import plain as money_plain
from sanad.eligibility.domain.money import round_to_riyal, show, to_riyals
from sanad.eligibility.domain.rules import CompiledCriterion, CompiledRuleSet, CompiledShown

OUTCOMES = ("eligible", "ineligible", "incomplete", "review")


@dataclass(frozen=True)
class CriterionOutcome:
    code: str
    status: str  # passed | failed | missing | not_applicable
    effect: str
    policy_reference: str
    observed: str | None
    required: str | None
    reason_ar: str
    reason_en: str
    facts_read: list[str]

    @property
    def passed(self) -> bool:
        return self.status in ("passed", "not_applicable")


@dataclass(frozen=True)
class Missing:
    kind: str  # fact | document
    code: str
    reason_ar: str
    reason_en: str


@dataclass(frozen=True)
class Result:
    rule_set_id: str
    rule_set_version: str  # SSP-DEV@2026.1
    effective_on: date
    currency: str
    outcome: str
    criteria: list[CriterionOutcome]
    missing: list[Missing]
    monthly_benefit: Decimal | None
    facts_hash: str

    def to_json(self) -> dict[str, Any]:
        """The stored trace (and what a replay compares). Written out field by field:
        ``dataclasses.asdict`` deep-copies every value on the way."""
        return {
            "rule_set_id": self.rule_set_id,
            "rule_set_version": self.rule_set_version,
            "effective_on": self.effective_on.isoformat(),
            "currency": self.currency,
            "outcome": self.outcome,
            "criteria": [
                {
                    "code": c.code,
                    "status": c.status,
                    "effect": c.effect,
                    "policy_reference": c.policy_reference,
                    "observed": c.observed,
                    "required": c.required,
                    "reason_ar": c.reason_ar,
                    "reason_en": c.reason_en,
                    "facts_read": list(c.facts_read),
                    "passed": c.passed,
                }
                for c in self.criteria
            ],
            "missing": [
                {"kind": m.kind, "code": m.code, "reason_ar": m.reason_ar, "reason_en": m.reason_en}
                for m in self.missing
            ],
            "monthly_benefit": None if self.monthly_benefit is None else str(self.monthly_benefit),
            "facts_hash": self.facts_hash,
        }


def facts_hash(facts: Facts) -> str:
    return hashlib.sha256(orjson.dumps(facts, option=orjson.OPT_SORT_KEYS)).hexdigest()


def plain(value: Any, type_: FactType) -> str:
    """How observed and required values travel: 4200.00, 3, true, SA, a,b."""
    if value is None:
        return "null"
    if type_ == "money":
        return money_plain(int(value))
    if type_ == "bool":
        return "true" if value else "false"
    if type_ == "list":
        return ",".join(str(v) for v in value)
    return str(value)


class _Words:
    """Values in words, per language: money with the currency, codes by their labels."""

    def __init__(self, rule_set: CompiledRuleSet) -> None:
        self.labels = rule_set.document.labels
        self.currency = rule_set.document.currency

    def label(self, code: str, language: str) -> str:
        found = self.labels.get(code)
        return getattr(found, language) if found is not None else code

    def show(self, value: Any, type_: FactType, language: str) -> str:
        if value is None:
            return "غير معروف" if language == "ar" else "unknown"
        match type_:
            case "money":
                return show(int(value), self.currency, language)
            case "bool":
                return (
                    ("نعم" if value else "لا") if language == "ar" else ("yes" if value else "no")
                )
            case "int":
                return f"{int(value):,}"
            case "text":
                return self.label(str(value), language)
            case "list":
                if not value:
                    return "لا شيء" if language == "ar" else "none"
                separator = "، " if language == "ar" else ", "
                return separator.join(self.label(str(v), language) for v in value)
        return str(value)


NOT_HERE = (
    "لم يُفحص هنا: {names} غير متاحة في هذا النوع من التقييم",
    "not checked here: {names} not available to this kind of evaluation",
)
NOT_APPLICABLE = ("لا ينطبق على هذه الأسرة", "does not apply to this household")
UNKNOWN = ("غير معروف: {names}", "unknown: {names}")


def _names(names: list[str], language: str) -> str:
    separator = "، " if language == "ar" else ", "
    return separator.join(
        getattr(CATALOG[n], f"label_{language}") if n in CATALOG else n for n in names
    )


def evaluate(rule_set: CompiledRuleSet, facts: Facts, on: date) -> Result:
    """Evaluate ``rule_set`` on ``facts`` with its parameters in force on ``on``.

    An unknown fact (``None``) is left undefined in CEL, so an expression whose answer does
    not depend on it still decides (CEL's ``||`` and ``&&`` absorb an error on the side that
    does not matter: a citizen passes the nationality criterion whatever the marital status);
    one that does depend on it ends ``missing``.
    """
    names_read = rule_set.names_read
    known = {
        name: value for name, value in facts.items() if value is not None and name in names_read
    }
    values: dict[str, Any] = {**rule_set.parameters_on(on), **known}
    # The kept context (parameters in place) gets this household's facts. A name whose fact
    # is unknown here may still hold another household's value in it: a criterion reading
    # one is evaluated in a fresh context of the known values only (``_Contexts``).
    context = rule_set.context_on(on)
    context.update(known)
    for item in rule_set.computed:
        if all(facts.get(f) is not None for f in item.facts_read):
            value = item.program.run(context)
            values[item.spec.name] = value
            context.add_variable(item.spec.name, value)
    contexts = _Contexts(context, values)

    words = _Words(rule_set)
    criteria: list[CriterionOutcome] = []
    missing: dict[tuple[str, str], Missing] = {}
    for criterion in rule_set.criteria:
        outcome, items = _criterion(criterion, facts, values, contexts, words, rule_set)
        criteria.append(outcome)
        for lacking in items:
            missing.setdefault((lacking.kind, lacking.code), lacking)

    failed = {c.effect for c in criteria if c.status == "failed"}
    if "ineligible" in failed:
        result_outcome = "ineligible"
    elif "incomplete" in failed or any(c.status == "missing" for c in criteria):
        result_outcome = "incomplete"
    elif "review" in failed:
        result_outcome = "review"
    else:
        result_outcome = "eligible"

    benefit: Decimal | None = None
    if result_outcome == "ineligible":
        benefit = Decimal("0.00")
    elif result_outcome in ("eligible", "review") and all(
        facts.get(f) is not None for f in rule_set.benefit_facts
    ):
        halalas = max(0, int(rule_set.benefit.run(contexts.kept)))
        if rule_set.document.benefit.rounding == "riyal":
            halalas = round_to_riyal(halalas)
        benefit = to_riyals(halalas)
    return Result(
        rule_set_id=rule_set.program_code,
        rule_set_version=rule_set.label,
        effective_on=on,
        currency=rule_set.document.currency,
        outcome=result_outcome,
        criteria=criteria,
        missing=list(missing.values()),
        monthly_benefit=benefit,
        facts_hash=facts_hash(facts),
    )


class _Contexts:
    def __init__(self, kept: Any, values: dict[str, Any]) -> None:
        self.kept = kept
        self.values = values
        self._known_only: Any = None

    def for_(self, unknown: bool) -> Any:
        if not unknown:
            return self.kept
        if self._known_only is None:
            self._known_only = cel.Context(variables=self.values)
        return self._known_only


def _shown(shown: CompiledShown, context: Any) -> tuple[Any, str | None]:
    try:
        value = shown.program.run(context)
    except Exception:
        return None, None  # it reads an unknown fact
    text = plain(value, shown.type)
    return value, f"{shown.op} {text}" if shown.op else text


def _criterion(
    criterion: CompiledCriterion,
    facts: Facts,
    values: dict[str, Any],
    contexts: _Contexts,
    words: _Words,
    rule_set: CompiledRuleSet,
) -> tuple[CriterionOutcome, list[Missing]]:
    spec = criterion.spec

    def result(
        status: str, ar: str, en: str, observed: str | None = None, required: str | None = None
    ) -> CriterionOutcome:
        return CriterionOutcome(
            code=spec.code,
            status=status,
            effect=spec.effect,
            policy_reference=spec.policy_reference,
            observed=observed,
            required=required,
            reason_ar=ar,
            reason_en=en,
            facts_read=list(criterion.facts_read),
        )

    absent = [f for f in criterion.facts_read if f not in facts]
    if absent:
        return result(
            "not_applicable",
            NOT_HERE[0].format(names=_names(absent, "ar")),
            NOT_HERE[1].format(names=_names(absent, "en")),
        ), []
    unknown = [f for f in criterion.facts_read if facts[f] is None]
    context = contexts.for_(bool(unknown))
    try:
        applies = criterion.applies_if is None or bool(criterion.applies_if.run(context))
        passed = applies and bool(criterion.expression.run(context))
    except Exception:
        if not unknown:
            raise  # not for want of a fact: a fault the rule set's checks did not catch
        unknown_items = [
            Missing(
                kind="fact",
                code=name,
                reason_ar=f"{CATALOG[name].label_ar} غير معروف: {CATALOG[name].fill_ar}",
                reason_en=f"The {CATALOG[name].label_en} is unknown: {CATALOG[name].fill_en}",
            )
            for name in unknown
        ]
        return result(
            "missing",
            UNKNOWN[0].format(names=_names(unknown, "ar")),
            UNKNOWN[1].format(names=_names(unknown, "en")),
        ), unknown_items
    if not applies:
        return result("not_applicable", *NOT_APPLICABLE), []
    observed, observed_text = _shown(criterion.observed, context)
    required, required_text = _shown(criterion.required, context)
    key = "passed" if passed else "failed"
    texts = getattr(spec.reasons, key)
    reasons = []
    for language in ("ar", "en"):
        names: dict[str, str] = {}
        for name in criterion.text_names.get((key, language), ()):
            if name == "observed":
                names[name] = words.show(observed, criterion.observed.type, language)
            elif name == "required":
                names[name] = words.show(required, criterion.required.type, language)
            else:
                names[name] = words.show(values.get(name), rule_set.types[name], language)
        reasons.append(getattr(texts, language).format(**names))
    items: list[Missing] = []
    if not passed and spec.effect == "incomplete" and spec.reasons.missing_item is not None:
        for item in observed or []:
            line = spec.reasons.missing_item
            items.append(
                Missing(
                    kind=spec.missing_kind,
                    code=str(item),
                    reason_ar=line.ar.format(item=words.label(str(item), "ar")),
                    reason_en=line.en.format(item=words.label(str(item), "en")),
                )
            )
    return result(key, reasons[0], reasons[1], observed_text, required_text), items


POLICY_TIMEZONE = timezone(timedelta(hours=3))  # Riyadh (and Baghdad): no daylight saving


def policy_date(moment: datetime) -> date:
    """The date a moment falls on where the policy applies: rules and parameters change at
    local midnight."""
    return moment.astimezone(POLICY_TIMEZONE).date()


def no_rule_set(program_code: str, on: date, facts: Facts) -> Result:
    """The answer when no version of the program's rules is in force on ``on``: a
    caseworker decides (review), and the evaluation says why."""
    return Result(
        rule_set_id=program_code,
        rule_set_version=f"{program_code}@none",
        effective_on=on,
        currency="SAR",
        outcome="review",
        criteria=[
            CriterionOutcome(
                code="rule_set_in_force",
                status="failed",
                effect="review",
                policy_reference="-",
                observed=None,
                required=on.isoformat(),
                reason_ar=(
                    f"لا توجد قواعد نافذة لبرنامج {program_code} في {on.isoformat()}: "
                    "يقرر باحث اجتماعي"
                ),
                reason_en=(
                    f"No rules of {program_code} are in force on {on.isoformat()}: "
                    "a caseworker decides"
                ),
                facts_read=[],
            )
        ],
        missing=[],
        monthly_benefit=None,
        facts_hash=facts_hash(facts),
    )


def differences(recorded: Any, replayed: Any, path: str = "") -> list[str]:
    """Where two stored results differ (JSON paths); empty when identical."""
    if isinstance(recorded, dict) and isinstance(replayed, dict):
        found: list[str] = []
        for key in sorted(set(recorded) | set(replayed)):
            found += differences(
                recorded.get(key), replayed.get(key), f"{path}.{key}" if path else key
            )
        return found
    if isinstance(recorded, list) and isinstance(replayed, list):
        if len(recorded) != len(replayed):
            return [f"{path} (length {len(recorded)} → {len(replayed)})"]
        found = []
        for index, (a, b) in enumerate(zip(recorded, replayed, strict=True)):
            found += differences(a, b, f"{path}[{index}]")
        return found
    return [] if recorded == replayed else [path]
