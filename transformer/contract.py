"""The feature contract: the 13 raw inputs of the UCI processed files.

This module is the single source of truth for features. Training builds its
float32 matrix with it, the transformer validates requests with it, the load
tests generate payloads from it and the docs table is generated from it
(``python -m transformer.contract --markdown``). It imports nothing beyond the
standard library so that every component (and every image) can carry it.

Changing anything here changes :data:`CONTRACT_HASH`; a served pair whose
predictor was trained on another contract then refuses to serve.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

Kind = Literal["numeric", "categorical"]
#: Why a value breaks the contract (bounded: metrics label failures with it).
ViolationKind = Literal["missing", "not_finite", "unknown_code", "not_integer", "out_of_range"]


@dataclass(frozen=True)
class Violation:
    """Why one value is not allowed: ``kind`` for machines, ``message`` for people.

    The allowed values are not part of the message: :meth:`Feature.allowed`
    says them, and error records carry them in a field of their own.
    """

    kind: ViolationKind
    message: str


_REQUIRED = Violation("missing", "is required (missing is not allowed)")
_UNKNOWN_CODE = Violation("unknown_code", "is not an allowed code")


@dataclass(frozen=True)
class Feature:
    """One raw input field.

    ``codes`` maps each allowed code of a categorical field to its human label;
    the transformer also accepts the label (case-insensitive) in place of the
    code. Numeric fields have an inclusive ``[minimum, maximum]`` range.
    ``nullable`` fields may be missing; they become NaN for the Pipeline's
    imputer. ``missing_values`` are values that mean "not measured" (the UCI
    files write 0 for a cholesterol or blood pressure nobody took): training,
    the API and batch scoring all read them as missing (:meth:`normalize`).
    """

    name: str
    label: str
    kind: Kind
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    codes: Mapping[int, str] = field(default_factory=dict)
    nullable: bool = True
    missing_values: tuple[float, ...] = ()

    def allowed(self) -> str:
        """Human description of the allowed values, used in error messages."""
        if self.kind == "categorical":
            return ", ".join(f"{code} ({text})" for code, text in self.codes.items())
        kind = "an integer" if self.integer else "a number"
        unit = f" {self.unit}" if self.unit else ""
        missing = "".join(f" ({_num(v)} = not measured)" for v in self.missing_values)
        return f"{kind} in [{_num(self.minimum)}, {_num(self.maximum)}]{unit}{missing}"

    def normalize(self, value: float) -> float:
        """``value``, or NaN when it is one of :attr:`missing_values`."""
        return math.nan if value in self.missing_values else value

    def check(self, value: float) -> Violation | None:
        """Why ``value`` (already :meth:`normalize`-d) is not allowed, or ``None``.

        NaN stands for missing and is allowed only for nullable fields.
        """
        if math.isnan(value):
            return None if self.nullable else _REQUIRED
        if math.isinf(value):
            return Violation("not_finite", "must be finite")
        if self.kind == "categorical":
            return None if value in self.codes else _UNKNOWN_CODE
        if self.integer and not float(value).is_integer():
            return Violation("not_integer", "must be an integer")
        low = -math.inf if self.minimum is None else self.minimum
        high = math.inf if self.maximum is None else self.maximum
        return None if low <= value <= high else Violation("out_of_range", "is out of range")

    def code_for(self, text: str) -> int | None:
        """The code whose label (or decimal spelling) is ``text``, if any."""
        wanted = text.strip().lower()
        for code, label in self.codes.items():
            if wanted in (label.lower(), str(code)):
                return code
        return None


def _num(value: float | None) -> str:
    if value is None:
        return "-inf"
    return str(int(value)) if float(value).is_integer() else str(value)


def _categorical(name: str, label: str, codes: dict[int, str], nullable: bool) -> Feature:
    return Feature(name, label, "categorical", codes=codes, nullable=nullable, integer=True)


FEATURES: tuple[Feature, ...] = (
    Feature("age", "Age", "numeric", "years", 18, 100, integer=True, nullable=False),
    _categorical("sex", "Sex", {0: "female", 1: "male"}, nullable=False),
    _categorical(
        "cp",
        "Chest pain type",
        {1: "typical angina", 2: "atypical angina", 3: "non-anginal pain", 4: "asymptomatic"},
        nullable=False,
    ),
    Feature("trestbps", "Resting blood pressure", "numeric", "mm Hg", 50, 250, missing_values=(0,)),
    Feature("chol", "Serum cholesterol", "numeric", "mg/dl", 80, 700, missing_values=(0,)),
    _categorical("fbs", "Fasting blood sugar > 120 mg/dl", {0: "false", 1: "true"}, True),
    _categorical(
        "restecg",
        "Resting ECG",
        {0: "normal", 1: "st-t wave abnormality", 2: "left ventricular hypertrophy"},
        nullable=True,
    ),
    Feature("thalach", "Maximum heart rate achieved", "numeric", "bpm", 50, 250),
    _categorical("exang", "Exercise-induced angina", {0: "no", 1: "yes"}, True),
    Feature("oldpeak", "ST depression induced by exercise", "numeric", "mm", -3.0, 10.0),
    _categorical(
        "slope",
        "Slope of peak exercise ST segment",
        {1: "upsloping", 2: "flat", 3: "downsloping"},
        True,
    ),
    Feature(
        "ca", "Major vessels coloured by fluoroscopy", "numeric", "vessels", 0, 3, integer=True
    ),
    _categorical(
        "thal",
        "Thallium stress test",
        {3: "normal", 6: "fixed defect", 7: "reversible defect"},
        nullable=True,
    ),
)

FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
BY_NAME: dict[str, Feature] = {f.name: f for f in FEATURES}
N_FEATURES = len(FEATURES)
#: Column indices (in contract order) the Pipeline one-hot encodes.
CATEGORICAL_INDICES: tuple[int, ...] = tuple(
    i for i, f in enumerate(FEATURES) if f.kind == "categorical"
)
#: Column indices (in contract order) the Pipeline treats as numbers.
NUMERIC_INDICES: tuple[int, ...] = tuple(i for i, f in enumerate(FEATURES) if f.kind == "numeric")
#: The raw target column of the UCI files (0 no disease, 1-4 disease).
TARGET = "num"
#: Labels the services return for the binary decision.
LABELS: tuple[str, str] = ("no disease", "disease")


def describe() -> list[dict[str, object]]:
    """The contract as plain data (order matters), for JSON and docs."""
    rows = []
    for feature in FEATURES:
        row = asdict(feature)
        row["codes"] = {str(code): text for code, text in feature.codes.items()}
        row["missing_values"] = list(feature.missing_values)
        rows.append(row)
    return rows


def _hash() -> str:
    canonical = json.dumps(describe(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


#: Stable hash of names, order, types, ranges and codes: the handshake value
#: shared by ``model.json``, the predictor's metadata and the transformer.
CONTRACT_HASH: str = _hash()


def row_to_vector(record: Mapping[str, float | None]) -> list[float]:
    """One record (field -> number or None) as floats in contract order.

    Missing fields and ``None`` become NaN; no validation happens here.
    """
    return [_as_float(record.get(name)) for name in FEATURE_NAMES]


def _as_float(value: float | None) -> float:
    return math.nan if value is None else float(value)


def rows_to_matrix(records: Iterable[Mapping[str, float | None]]) -> list[list[float]]:
    """Records as a list of contract-ordered rows (see :func:`row_to_vector`)."""
    return [row_to_vector(r) for r in records]


def markdown_table() -> str:
    """The docs table (kept in git as docs/contract.md, checked for drift)."""
    lines = [
        "| # | field | meaning | type | unit | allowed | may be missing |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, f in enumerate(FEATURES, start=1):
        kind = "integer" if f.integer and f.kind == "numeric" else f.kind
        missing = "yes" if f.nullable else "no"
        missing += "".join(f"; {_num(v)} = not measured" for v in f.missing_values)
        lines.append(
            f"| {i} | `{f.name}` | {f.label} | {kind} | {f.unit} | {f.allowed()} | {missing} |"
        )
    return "\n".join(lines) + f"\n\nContract hash: `{CONTRACT_HASH}`\n"


def main(argv: Sequence[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Print the feature contract.")
    parser.add_argument("--markdown", action="store_true", help="a Markdown table")
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown_table(), end="")
    else:
        print(json.dumps({"hash": CONTRACT_HASH, "features": describe()}, indent=2))


if __name__ == "__main__":
    main()
