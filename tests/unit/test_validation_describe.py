"""A validation error is described by where and what kind, never by the value."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from schemas.identifiers import Nik
from schemas.validation import describe, field_problems, invalid_fields

NIK = "1375015203900007"


class Applicant(BaseModel):
    nik: Nik
    name: str


class Form(BaseModel):
    applicant: Applicant
    count: int


def _error(value: object) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        Form.model_validate(value)
    return caught.value


def test_describe_names_each_field_and_problem_type() -> None:
    error = _error({"applicant": {"nik": "1375019999990007", "name": "Siti"}, "count": "many"})
    text = describe(error)
    assert "applicant.nik:" in text and "count: int_parsing" in text


def test_describe_never_contains_the_input_values() -> None:
    bad_nik = "1375019999990007"
    error = _error({"applicant": {"nik": bad_nik, "name": 12}, "count": "Siti Rahmah"})
    for text in (describe(error), describe(error, with_message=True), " ".join(invalid_fields(error))):
        assert bad_nik not in text and "Siti Rahmah" not in text and "999999" not in text


def test_describe_caps_the_list_and_says_how_many_were_left_out() -> None:
    class Many(BaseModel):
        a: int
        b: int
        c: int

    with pytest.raises(ValidationError) as caught:
        Many.model_validate({})
    assert describe(caught.value, limit=2) == "a: missing; b: missing; (+1 more)"
    assert len(field_problems(caught.value, limit=1)) == 1


def test_a_problem_of_the_whole_value_is_named_by_root() -> None:
    error = _error("not an object")
    assert describe(error, root="body") == "body: model_type"
    assert invalid_fields(error) == ["body"]
