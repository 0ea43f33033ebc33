"""Rule sets as data: a program's versioned rules, checked and compiled before use.

A rule set (one YAML or JSON document) has a program code, a version label, the date it takes
effect, dated parameters (each with its values by date, as OpenFisca's parameters are),
computed values, criteria and the benefit. Expressions are CEL (the Common Expression
Language, evaluated by the Rust ``cel`` crate through ``common-expression-language``): no
Python ``eval``, no I/O, no loops without bounds, nothing but the names given to it.

``compile_rule_set`` refuses a document with a syntax error, an unknown fact or parameter, a
type error on sample facts, or a missing translation — every problem with its location
(``criteria[3].expression``).
"""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, Literal

import cel
import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sanad.eligibility.domain.facts import CATALOG, SAMPLE, FactType, Value
from sanad.eligibility.domain.money import NotMoney, to_halalas

NAME = r"^[a-z][a-z0-9_]{0,39}$"
CODE = r"^[A-Z][A-Z0-9-]{1,39}$"
Text = Annotated[str, Field(min_length=1, max_length=600)]
Expression = Annotated[str, Field(min_length=1, max_length=2000)]
Effect = Literal["ineligible", "incomplete", "review"]
RESERVED = frozenset({"observed", "required", "item"})
BOUND = re.compile(r"\.(?:all|exists|exists_one|filter|map)\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,")


class Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Bilingual(Strict):
    ar: str = ""
    en: str = ""


class Parameter(Strict):
    type: FactType
    label_ar: str = ""
    label_en: str = ""
    reference: str = ""
    # value by the date it takes effect (OpenFisca's "values"); the latest on or before the
    # evaluation date applies
    values: dict[date, Any] = Field(min_length=1)


class Computed(Strict):
    name: str = Field(pattern=NAME)
    type: FactType
    label_ar: str = ""
    label_en: str = ""
    expression: Expression


class Shown(Strict):
    """A value a criterion shows (observed or required): an expression and how to print it."""

    expression: Expression
    type: FactType
    op: Literal["", "<=", "<", ">=", ">", "==", "!=", "in", "not in", "all of"] = ""


class Reasons(Strict):
    passed: Bilingual
    failed: Bilingual
    missing_item: Bilingual | None = None  # for `incomplete` criteria: one line per item


class CriterionSpec(Strict):
    code: str = Field(pattern=NAME)
    policy_reference: Text
    effect: Effect = "ineligible"
    applies_if: Expression | None = None
    expression: Expression
    observed: Shown
    required: Shown
    reasons: Reasons
    missing_kind: Literal["document", "fact"] = "document"  # what an incomplete lists


class Benefit(Strict):
    expression: Expression
    rounding: Literal["riyal", "halala"] = "riyal"


class RuleSetDocument(Strict):
    program: str = Field(pattern=CODE)
    version: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
    effective_from: date
    currency: Literal["SAR", "IQD"] = "SAR"
    title_ar: str = ""
    title_en: str = ""
    description: str = ""
    parameters: dict[str, Parameter] = {}
    labels: dict[str, Bilingual] = {}  # how codes (widowed, family_register) read in words
    computed: list[Computed] = []
    criteria: list[CriterionSpec] = Field(min_length=1, max_length=60)
    benefit: Benefit

    @field_validator("parameters")
    @classmethod
    def _names(cls, value: dict[str, Parameter]) -> dict[str, Parameter]:
        for name in value:
            if not re.match(NAME, name):
                raise ValueError(f"parameter name {name!r} must be snake_case (a-z, 0-9, _)")
        return value


@dataclass(frozen=True)
class Refusal:
    location: str  # criteria[3].expression
    message: str
    code: str = "invalid"


class RuleSetRefused(Exception):
    def __init__(self, refusals: list[Refusal]) -> None:
        super().__init__("; ".join(f"{r.location}: {r.message}" for r in refusals))
        self.refusals = refusals


@dataclass(frozen=True)
class Program:
    """One compiled expression and the names it reads."""

    source: str
    program: Any  # cel.Program
    reads: frozenset[str]

    def run(self, context: Any) -> Any:
        return self.program.execute(context)


@dataclass(frozen=True)
class CompiledShown:
    program: Program
    type: FactType
    op: str


@dataclass(frozen=True)
class CompiledCriterion:
    index: int
    spec: CriterionSpec
    applies_if: Program | None
    expression: Program
    observed: CompiledShown
    required: CompiledShown
    facts_read: tuple[str, ...]  # the facts it depends on, through computed values too
    template_names: frozenset[str]
    # (passed|failed, ar|en) → the names that text shows
    text_names: Mapping[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class CompiledComputed:
    spec: Computed
    program: Program
    facts_read: frozenset[str]


@dataclass(frozen=True)
class CompiledRuleSet:
    document: RuleSetDocument
    digest: str
    computed: tuple[CompiledComputed, ...]
    criteria: tuple[CompiledCriterion, ...]
    benefit: Program
    benefit_facts: frozenset[str]
    types: Mapping[str, FactType] = field(default_factory=dict)  # every name's type
    names_read: frozenset[str] = frozenset()  # every fact any expression or text reads
    _parameters: dict[date, dict[str, Value]] = field(default_factory=dict, compare=False)
    _contexts: dict[date, Any] = field(default_factory=dict, compare=False)

    def context_on(self, on: date) -> Any:
        """A CEL context holding the parameters in force on ``on``, kept and reused: the
        evaluation overwrites the facts in it (converting the parameters' lists into CEL
        values each time would cost more than the criteria). Not for use by two threads."""
        found = self._contexts.get(on)
        if found is None:
            found = cel.Context(variables=dict(self.parameters_on(on)))
            if len(self._contexts) < 4096:
                self._contexts[on] = found
        return found

    @property
    def program_code(self) -> str:
        return self.document.program

    @property
    def version(self) -> str:
        return self.document.version

    @property
    def label(self) -> str:
        return f"{self.document.program}@{self.document.version}"

    def parameters_on(self, on: date) -> dict[str, Value]:
        """The parameters in force on ``on`` (kept per date: a rule set never changes)."""
        found = self._parameters.get(on)
        if found is None:
            found = {
                name: convert(parameter.type, value_on(parameter, on))
                for name, parameter in self.document.parameters.items()
            }
            if len(self._parameters) < 4096:
                self._parameters[on] = found
        return found


def value_on(parameter: Parameter, on: date) -> Any:
    """The value in force on ``on``: the latest dated on or before it."""
    dated = [d for d in parameter.values if d <= on]
    if not dated:
        raise LookupError(f"no value on or before {on.isoformat()}")
    return parameter.values[max(dated)]


def convert(type_: FactType, value: Any) -> Value:
    match type_:
        case "money":
            return to_halalas(value)
        case "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{value!r} is not a whole number")
            return value
        case "bool":
            if not isinstance(value, bool):
                raise ValueError(f"{value!r} is not true or false")
            return value
        case "text":
            if not isinstance(value, str):
                raise ValueError(f"{value!r} is not a string")
            return value
        case "list":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{value!r} is not a list of strings")
            return list(value)
    raise AssertionError(type_)


def digest_of(document: RuleSetDocument) -> str:
    canonical = orjson.dumps(document.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def parse(raw: Mapping[str, Any]) -> RuleSetDocument:
    """The document's shape, or RuleSetRefused naming every field at fault."""
    try:
        return RuleSetDocument.model_validate(raw)
    except ValidationError as exc:
        raise RuleSetRefused(
            [
                Refusal(
                    _location(tuple(e["loc"])), e["msg"].removeprefix("Value error, "), e["type"]
                )
                for e in exc.errors()
            ]
        ) from None


def _python_type(type_: FactType) -> type | tuple[type, ...]:
    return {"money": int, "int": int, "bool": bool, "text": str, "list": list}[type_]


def _template_names(text: str) -> set[str]:
    """The names a reason shows; plain ``{name}`` only (no format spec, conversion or
    attribute: the service formats values itself)."""
    names = set()
    for _, name, spec, conversion in string.Formatter().parse(text):
        if name is None:
            continue
        if spec or conversion or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            extra = ("!" + conversion if conversion else "") + (":" + spec if spec else "")
            raise ValueError(f"write {{name}} only, not {{{name}{extra}}}")
        names.add(name)
    return names


def compile_rule_set(raw: Mapping[str, Any] | RuleSetDocument) -> CompiledRuleSet:
    """Check and compile a rule set; RuleSetRefused lists every problem with its location."""
    document = raw if isinstance(raw, RuleSetDocument) else parse(raw)
    refusals: list[Refusal] = []
    types: dict[str, FactType] = {name: spec.type for name, spec in CATALOG.items()}
    sample: dict[str, Any] = {name: SAMPLE[spec.type] for name, spec in CATALOG.items()}

    for name, parameter in document.parameters.items():
        where = f"parameters.{name}"
        if name in CATALOG:
            refusals.append(Refusal(where, f"{name!r} is a fact's name; name it otherwise"))
            continue
        if name in RESERVED:
            refusals.append(Refusal(where, f"{name!r} is reserved"))
            continue
        if not (parameter.label_ar.strip() and parameter.label_en.strip()):
            refusals.append(
                Refusal(
                    f"{where}.label_{'ar' if not parameter.label_ar.strip() else 'en'}",
                    "missing translation",
                    "missing_translation",
                )
            )
        for when, value in parameter.values.items():
            try:
                convert(parameter.type, value)
            except (ValueError, NotMoney) as exc:
                refusals.append(Refusal(f"{where}.values.{when.isoformat()}", str(exc)))
        if not any(d <= document.effective_from for d in parameter.values):
            refusals.append(
                Refusal(
                    f"{where}.values",
                    f"no value on or before the effective date {document.effective_from}",
                )
            )
        types[name] = parameter.type
        sample[name] = SAMPLE[parameter.type]

    def compile_one(source: str, where: str, known: Mapping[str, FactType]) -> Program | None:
        try:
            program = cel.compile(source)
        except ValueError as exc:
            message = str(exc).removeprefix(f"Failed to parse expression {source!r}: ")
            refusals.append(Refusal(where, f"syntax error: {message}", "syntax_error"))
            return None
        # CEL lists a macro's bound variable (the d of documents.all(d, ...)) among the
        # variables; it is not a fact.
        reads = frozenset(program.variables()) - set(BOUND.findall(source))
        unknown = sorted(reads - set(known))
        for name in unknown:
            refusals.append(Refusal(where, f"unknown fact or parameter {name!r}", "unknown_name"))
        if unknown:
            return None
        return Program(source, program, reads)

    def facts_behind(
        reads: frozenset[str], computed_facts: Mapping[str, frozenset[str]]
    ) -> set[str]:
        behind: set[str] = set()
        for name in reads:
            if name in CATALOG:
                behind.add(name)
            elif name in computed_facts:
                behind |= computed_facts[name]
        return behind

    def try_sample(program: Program, where: str, expected: FactType | None) -> Any:
        try:
            value = program.run(sample)
        except Exception as exc:  # the engine's type errors name the operation
            refusals.append(
                Refusal(where, f"does not evaluate on sample facts: {exc}", "type_error")
            )
            return None
        if expected is not None and not isinstance(value, _python_type(expected)):
            refusals.append(
                Refusal(where, f"gives {type(value).__name__}, not {expected}", "type_error")
            )
        return value

    computed: list[CompiledComputed] = []
    computed_facts: dict[str, frozenset[str]] = {}
    for index, item in enumerate(document.computed):
        where = f"computed[{index}]"
        if item.name in types:
            refusals.append(Refusal(f"{where}.name", f"{item.name!r} is already defined"))
            continue
        if not (item.label_ar.strip() and item.label_en.strip()):
            refusals.append(
                Refusal(where, "missing translation (label_ar, label_en)", "missing_translation")
            )
        program = compile_one(item.expression, f"{where}.expression", types)
        if program is None:
            # Known from here on, so that what uses it is not refused for it a second time.
            types[item.name] = item.type
            sample[item.name] = SAMPLE[item.type]
            continue
        value = try_sample(program, f"{where}.expression", item.type)
        reads = frozenset(facts_behind(program.reads, computed_facts))
        computed.append(CompiledComputed(item, program, reads))
        computed_facts[item.name] = reads
        types[item.name] = item.type
        sample[item.name] = value if value is not None else SAMPLE[item.type]

    template_known = set(types) | {"observed", "required"}
    criteria: list[CompiledCriterion] = []
    codes: set[str] = set()
    for index, spec in enumerate(document.criteria):
        where = f"criteria[{index}]"
        if spec.code in codes:
            refusals.append(Refusal(f"{where}.code", f"{spec.code!r} appears twice"))
        codes.add(spec.code)
        applies = (
            compile_one(spec.applies_if, f"{where}.applies_if", types) if spec.applies_if else None
        )
        expression = compile_one(spec.expression, f"{where}.expression", types)
        observed = compile_one(spec.observed.expression, f"{where}.observed.expression", types)
        required = compile_one(spec.required.expression, f"{where}.required.expression", types)
        if applies:
            try_sample(applies, f"{where}.applies_if", "bool")
        if expression:
            try_sample(expression, f"{where}.expression", "bool")
        if observed:
            try_sample(observed, f"{where}.observed.expression", spec.observed.type)
        if required:
            try_sample(required, f"{where}.required.expression", spec.required.type)
        names: set[str] = set()
        text_names: dict[tuple[str, str], tuple[str, ...]] = {}
        texts = {
            "passed": spec.reasons.passed,
            "failed": spec.reasons.failed,
        }
        if spec.effect == "incomplete":
            if spec.reasons.missing_item is None:
                refusals.append(
                    Refusal(
                        f"{where}.reasons.missing_item",
                        "an incomplete criterion says what is missing, item by item",
                        "missing_translation",
                    )
                )
            elif spec.observed.type != "list":
                refusals.append(
                    Refusal(
                        f"{where}.observed.type",
                        "an incomplete criterion observes the list of missing items",
                    )
                )
        if spec.reasons.missing_item is not None:
            texts["missing_item"] = spec.reasons.missing_item
        for key, bilingual in texts.items():
            for language in ("ar", "en"):
                text = getattr(bilingual, language)
                place = f"{where}.reasons.{key}.{language}"
                if not text.strip():
                    refusals.append(Refusal(place, "missing translation", "missing_translation"))
                    continue
                try:
                    used = _template_names(text)
                except ValueError as exc:
                    refusals.append(Refusal(place, f"bad template: {exc}"))
                    continue
                allowed = {"item"} if key == "missing_item" else template_known
                for name in sorted(used - allowed):
                    refusals.append(
                        Refusal(
                            place,
                            f"unknown fact or parameter {{{name}}} in the text",
                            "unknown_name",
                        )
                    )
                names |= used & set(types)
                text_names[(key, language)] = tuple(sorted(used))
        if not (applies or not spec.applies_if) or not (expression and observed and required):
            continue
        criterion_reads: set[str] = set()
        for part in (applies, expression, observed, required):
            if part is not None:
                criterion_reads |= facts_behind(part.reads, computed_facts)
        criterion_reads |= facts_behind(frozenset(names), computed_facts)
        criteria.append(
            CompiledCriterion(
                index=index,
                spec=spec,
                applies_if=applies,
                expression=expression,
                observed=CompiledShown(observed, spec.observed.type, spec.observed.op),
                required=CompiledShown(required, spec.required.type, spec.required.op),
                facts_read=tuple(sorted(criterion_reads)),
                template_names=frozenset(names),
                text_names=text_names,
            )
        )

    benefit = compile_one(document.benefit.expression, "benefit.expression", types)
    if benefit:
        try_sample(benefit, "benefit.expression", "money")
    for code, label in document.labels.items():
        for language in ("ar", "en"):
            if not getattr(label, language).strip():
                refusals.append(
                    Refusal(
                        f"labels.{code}.{language}", "missing translation", "missing_translation"
                    )
                )
    if refusals or benefit is None:
        raise RuleSetRefused(refusals)
    return CompiledRuleSet(
        document=document,
        digest=digest_of(document),
        computed=tuple(computed),
        criteria=tuple(criteria),
        benefit=benefit,
        benefit_facts=frozenset(facts_behind(benefit.reads, computed_facts)),
        types=types,
        names_read=frozenset(
            set(benefit.reads)
            | {f for c in computed for f in c.facts_read}
            | {f for c in criteria for f in c.facts_read}
        ),
    )
