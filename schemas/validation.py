"""Describe a pydantic ``ValidationError`` without its input values.

Every place that reports invalid data (the API's problem documents, dead-letter
reasons, adapters' FAILED reports, simulators' native error bodies) names *where* and
*what kind* of problem, never the value: an invalid NIK must not reach a log, a header
or a response. This is the one place that turns an error into such a description.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError


@dataclass(frozen=True)
class FieldProblem:
    """One problem: where (``loc``, dotted by :attr:`path`), its pydantic ``type`` and message."""

    loc: tuple[str | int, ...]
    type: str
    message: str

    @property
    def path(self) -> str:
        return ".".join(str(part) for part in self.loc)


def field_problems(error: ValidationError, *, limit: int | None = None) -> list[FieldProblem]:
    """The problems of ``error`` (the first ``limit`` of them), inputs left out."""
    details = error.errors(include_input=False, include_url=False, include_context=False)
    return problems_of(details[:limit] if limit is not None else details)


def problems_of(details: Iterable[Mapping[str, Any]]) -> list[FieldProblem]:
    """Problems from error details in pydantic's shape (as FastAPI hands them over);
    only where, what kind and the message are kept, never ``input``."""
    return [FieldProblem(loc=tuple(d["loc"]), type=str(d["type"]), message=str(d["msg"])) for d in details]


def describe(error: ValidationError, *, limit: int = 5, root: str = "<root>", with_message: bool = False) -> str:
    """``"plate: string_pattern_mismatch; applicant.nik: value_error"``, and ``"(+N more)"``
    when there are more than ``limit`` problems; ``root`` names a problem of the whole value."""
    problems = field_problems(error)
    parts = [f"{p.path or root}: {p.message if with_message else p.type}" for p in problems[:limit]]
    if len(problems) > limit:
        parts.append(f"(+{len(problems) - limit} more)")
    return "; ".join(parts)


def invalid_fields(error: ValidationError, *, root: str = "body") -> list[str]:
    """The sorted, distinct dotted paths of the fields that failed (``root`` for the whole value)."""
    return sorted({p.path or root for p in field_problems(error)})
