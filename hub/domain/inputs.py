"""Where a composite step's inputs come from, and whether they fit its service.

Pure functions over plain values: the request's ``data``, the applicant and earlier
steps' outputs. The API uses them to refuse a bad composite request before anything
starts; the workflow engine to build a step's inputs when it may start.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from hub.catalogue import Catalogue, Composite, Service, Source
from schemas.validation import FieldProblem, describe, field_problems

__all__ = ["FieldProblem", "InputsInvalid", "MissingSource", "build_inputs", "check_composite_request", "resolve"]


class MissingSource(LookupError):
    """A mapped source (``data.x``, ``steps.a.outputs.y``...) has no value."""


class InputsInvalid(ValueError):
    """A step's inputs cannot be built or do not fit its service; the message names
    fields and problem kinds, never values."""


def _lookup(root: Any, path: list[str], source: str) -> Any:
    value = root
    for part in path:
        if not isinstance(value, dict) or part not in value:
            raise MissingSource(f"{source} is not available")
        value = value[part]
    return value


def resolve(source: Source, case_data: Mapping[str, Any], applicant: Mapping[str, Any], outputs: Mapping[str, Mapping[str, Any]]) -> Any:
    """The value of one mapped source; raises :class:`MissingSource` if it has none."""
    if isinstance(source, dict):
        return source["value"]
    head, _, rest = source.partition(".")
    if head == "data":
        return _lookup(case_data, rest.split("."), source)
    if head == "applicant":
        return _lookup(applicant, rest.split("."), source)
    step_name, _, path = rest.partition(".outputs.")
    return _lookup(outputs.get(step_name, {}), path.split(".") if path else [], source)


def build_inputs(
    service: Service,
    mapping: Mapping[str, Source],
    case_data: Mapping[str, Any],
    applicant: Mapping[str, Any],
    outputs: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    """A step's inputs resolved from ``mapping`` and normalised by its service's model.

    Raises :class:`InputsInvalid` when a source is missing or the result does not validate."""
    try:
        raw = {target: resolve(source, case_data, applicant, outputs) for target, source in mapping.items()}
        return service.payloads.input.model_validate(raw).model_dump(mode="json")
    except MissingSource as exc:
        raise InputsInvalid(str(exc)) from None
    except ValidationError as exc:
        raise InputsInvalid(describe(exc, with_message=True)) from None


def _fed_by_steps(source: Source) -> bool:
    return isinstance(source, str) and source.startswith("steps.")


def check_composite_request(
    composite: Composite, catalogue: Catalogue, data: dict[str, Any], applicant: dict[str, Any]
) -> tuple[dict[str, Any], list[FieldProblem]]:
    """Validate a composite request's ``data`` against every step that uses it, before
    anything starts. Fields fed by earlier steps' outputs are not known yet and are
    skipped; everything else must be right now. Returns normalised data and problems
    located as ``data.<field>``."""
    problems: dict[tuple[str | int, ...], FieldProblem] = {}
    normalised = dict(data)
    for field in sorted(set(data) - set(composite.data_fields())):
        problems[("data", field)] = FieldProblem(("data", field), "extra_forbidden", f"{composite.code} does not use {field!r}")
    for step in composite.steps:
        service = catalogue.get(step.service)
        assert service is not None  # checked when the catalogue loaded
        partial: dict[str, Any] = {}
        origin: dict[str, tuple[str | int, ...]] = {}
        for target, source in step.inputs.items():
            if _fed_by_steps(source):
                continue
            if isinstance(source, str):
                origin[target] = tuple(source.split("."))
            try:
                partial[target] = resolve(source, data, applicant, {})
            except MissingSource:
                continue  # reported as "missing" by the model, at the request's path
        fed_by_steps = {t for t, s in step.inputs.items() if _fed_by_steps(s)}
        try:
            validated = service.payloads.input.model_validate(partial).model_dump(mode="json")
        except ValidationError as exc:
            for problem in field_problems(exc):
                target = str(problem.loc[0]) if problem.loc else ""
                if target in fed_by_steps or (not target and fed_by_steps):
                    continue  # a whole-model rule cannot be judged before the earlier steps' outputs exist
                loc = origin.get(target, ("data", target)) + problem.loc[1:]
                problems.setdefault(loc, FieldProblem(loc, problem.type, problem.message))
            continue
        for target, source in step.inputs.items():  # keep the normalised form (e.g. plates)
            if isinstance(source, str) and source.startswith("data.") and source.count(".") == 1 and target in validated:
                normalised[source.split(".", 1)[1]] = validated[target]
    return normalised, sorted(problems.values(), key=lambda p: [str(x) for x in p.loc])
