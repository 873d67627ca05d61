"""Specification of the Indonesian identifier types in ``schemas.identifiers``.

Formats and sources: docs/domain-sources.md ("Identifiers"). Every rejection must carry a custom
pydantic error type (``nik_invalid``, ``plate_invalid``, ...) and a message that names
what is wrong, because API clients show these to citizens at the MPP counter.
"""

from __future__ import annotations

import random
import re
from datetime import date

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError

from schemas.identifiers import (
    PLATE_REGIONS,
    PROVINCES,
    BillingCode,
    Nik,
    NikInfo,
    Npwp,
    PlateNumber,
    make_billing_code,
    make_nik,
    make_plate,
    mask_nik,
    parse_nik,
)

# The fictitious example NIK of docs/domain-sources.md: a woman born 12-03-1990, first registered in Guguk Panjang, Bukittinggi.
DOMAIN_EXAMPLE_NIK = "1375015203900007"

NIK = TypeAdapter(Nik)
NPWP = TypeAdapter(Npwp)
PLATE = TypeAdapter(PlateNumber)
BILLING = TypeAdapter(BillingCode)


def only_error(adapter: TypeAdapter[str], value: object) -> dict[str, object]:
    """Validate ``value``, expect exactly one error and return it."""
    with pytest.raises(ValidationError) as caught:
        adapter.validate_python(value)
    errors = caught.value.errors()
    assert len(errors) == 1, errors
    return dict(errors[0])


def refusal(adapter: TypeAdapter[str], value: object) -> tuple[object, object, object]:
    """The one error ``value`` gets: its type, its message and the reason in its context."""
    error = only_error(adapter, value)
    assert isinstance(error["ctx"], dict)
    return error["type"], error["msg"], error["ctx"]["reason"]


# ---------------------------------------------------------------------------
# Reference data
# ---------------------------------------------------------------------------


class TestReferenceData:
    def test_there_are_38_provinces_including_the_four_new_papua_provinces(self) -> None:
        assert len(PROVINCES) == 38
        assert {code: PROVINCES[code] for code in ("93", "94", "95", "96")} == {
            "93": "Papua Selatan",
            "94": "Papua Tengah",
            "95": "Papua Pegunungan",
            "96": "Papua Barat Daya",
        }

    def test_province_codes_follow_the_island_groups(self) -> None:
        allowed = (
            set(range(11, 20))
            | {21}
            | set(range(31, 37))
            | set(range(51, 54))
            | set(range(61, 66))
            | set(range(71, 77))
            | {81, 82}
            | set(range(91, 97))
        )
        assert {int(code) for code in PROVINCES} == allowed

    def test_plate_regions_include_known_codes(self) -> None:
        for code in ("B", "BA", "D", "AB", "L", "DK", "KU", "PA", "PB", "PY", "PS", "PT"):
            assert code in PLATE_REGIONS
        assert all(re.fullmatch(r"[A-Z]{1,2}", code) for code in PLATE_REGIONS)


# ---------------------------------------------------------------------------
# NIK
# ---------------------------------------------------------------------------


class TestNikAccepts:
    def test_domain_example_is_valid(self) -> None:
        assert NIK.validate_python(DOMAIN_EXAMPLE_NIK) == DOMAIN_EXAMPLE_NIK

    def test_domain_example_decodes_to_a_woman_born_12_march_1990_in_guguk_panjang(self) -> None:
        info = parse_nik(DOMAIN_EXAMPLE_NIK)
        assert info == NikInfo(
            nik=DOMAIN_EXAMPLE_NIK,
            province="13",
            regency="1375",
            district="137501",
            birth_date=date(1990, 3, 12),
            sex="F",
            serial="0007",
        )
        assert info.province_name == "Sumatera Barat"

    def test_a_man_has_the_plain_birth_day(self) -> None:
        info = parse_nik("1375011203900007")
        assert (info.sex, info.birth_date) == ("M", date(1990, 3, 12))

    @pytest.mark.parametrize("dd", ["01", "31", "41", "71"])
    def test_day_bounds_for_men_and_women(self, dd: str) -> None:
        assert NIK.validate_python(f"137501{dd}0190" + "0001") == f"137501{dd}01900001"

    @pytest.mark.parametrize(
        "typed",
        [
            "1375 0152 0390 0007",
            "13.75.01.520390.0007",
            " 1375015203900007 ",
            "13 75 01 52 03 90 0007",
        ],
    )
    def test_spaces_and_dots_are_removed(self, typed: str) -> None:
        assert NIK.validate_python(typed) == DOMAIN_EXAMPLE_NIK

    @pytest.mark.parametrize("province", sorted(PROVINCES))
    def test_every_real_province_code_is_accepted(self, province: str) -> None:
        assert NIK.validate_python(f"{province}7501520390" + "0007").startswith(province)

    def test_29_february_00_is_valid_because_2000_was_a_leap_year(self) -> None:
        info = parse_nik("1375012902000007")
        assert info.birth_date == date(2000, 2, 29)

    def test_29_february_in_a_leap_year_is_valid_for_women_too(self) -> None:
        assert parse_nik("1375016902960007").birth_date == date(1996, 2, 29)

    def test_serial_9999_is_the_maximum(self) -> None:
        assert parse_nik("1375015203909999").serial == "9999"


class TestNikCentury:
    """YY has no century: 20YY unless that is in the future, then 19YY."""

    def test_recent_year_is_20yy(self) -> None:
        assert parse_nik("1375011203150007", today=date(2026, 1, 1)).birth_date == date(2015, 3, 12)

    def test_year_after_today_is_19yy(self) -> None:
        assert parse_nik("1375011203500007", today=date(2026, 1, 1)).birth_date == date(1950, 3, 12)

    def test_a_birthday_later_this_year_is_a_century_ago(self) -> None:
        today = date(2026, 3, 1)
        assert parse_nik("1375011203260007", today=today).birth_date == date(1926, 3, 12)
        assert parse_nik("1375010102260007", today=today).birth_date == date(2026, 2, 1)

    def test_defaults_to_the_current_date(self) -> None:
        assert parse_nik(DOMAIN_EXAMPLE_NIK).birth_date <= date.today()


NOT_DIGITS = "NIK must contain only digits (spaces and dots are ignored)"
PROVINCE = "NIK province code (first two digits) is not an Indonesian province"
BIRTH_DAY = "NIK birth day (seventh and eighth digits) is out of range: the day of the month for men, the day plus forty for women"
BIRTH_MONTH = "NIK birth month (ninth and tenth digits) is not a month"
NOT_A_DATE = "NIK birth date (seventh to twelfth digits) is not a real date"
NOT_A_LEAP_DAY = (
    "NIK birth date (seventh to twelfth digits) is not a real date: a leap day in a year that is not a leap year in either century"
)

# Every 16-digit NIK the validator rejects, one per way it can be wrong.
REJECTED_16_DIGIT_NIKS = [
    "9975015203900007",  # province
    "1300015203900007",  # regency
    "1375005203900007",  # district
    "1375018503900007",  # birth day 85
    "1375011213900007",  # birth month 13
    "1375013102900007",  # 31-02
    "1375012902010007",  # 29-02 in 1901/2001
    "1375015203900000",  # serial
]


class TestNikRejects:
    @pytest.mark.parametrize(
        ("value", "reason", "message"),
        [
            ("137501520390007", "length", "NIK must be 16 digits, got 15"),
            ("13750152039000071", "length", "NIK must be 16 digits, got 17"),
            ("", "length", "NIK must be 16 digits, got 0"),
            ("13750152039O0007", "not_digits", NOT_DIGITS),
            ("1375-0152-0390-0007", "not_digits", NOT_DIGITS),
            ("１３７５０１５２０３９０００７", "not_digits", NOT_DIGITS),  # full-width digits
            ("9975015203900007", "province", PROVINCE),
            ("2075015203900007", "province", PROVINCE),
            ("5475015203900007", "province", PROVINCE),
            ("9775015203900007", "province", PROVINCE),
            ("0075015203900007", "province", PROVINCE),
            ("1300015203900007", "regency", "NIK regency/city code (third and fourth digits) must not be zero"),
            ("1375005203900007", "district", "NIK district code (fifth and sixth digits) must not be zero"),
            ("1375010003900007", "birth_day", BIRTH_DAY),
            ("1375013203900007", "birth_day", BIRTH_DAY),
            ("1375014003900007", "birth_day", BIRTH_DAY),
            ("1375017203900007", "birth_day", BIRTH_DAY),
            ("1375018503900007", "birth_day", BIRTH_DAY),
            ("1375011200900007", "birth_month", BIRTH_MONTH),
            ("1375011213900007", "birth_month", BIRTH_MONTH),
            ("1375013102900007", "birth_date", NOT_A_DATE),  # 31 February
            ("1375013104900007", "birth_date", NOT_A_DATE),  # 31 April
            ("1375017102900007", "birth_date", NOT_A_DATE),  # 31 February, a woman
            ("1375013002000007", "birth_date", NOT_A_DATE),  # 30 February
            ("1375012902010007", "birth_date", NOT_A_LEAP_DAY),  # 29 February 1901 or 2001
            ("1375015203900000", "serial", "NIK serial (last four digits) must not be all zeros"),
        ],
    )
    def test_each_rejection_names_the_problem(self, value: str, reason: str, message: str) -> None:
        assert refusal(NIK, value) == ("nik_invalid", message, reason)

    def test_non_strings_are_rejected_by_pydantic_before_our_checks(self) -> None:
        assert only_error(NIK, 1375015203900007)["type"] == "string_type"

    def test_parse_nik_raises_a_value_error_outside_pydantic(self) -> None:
        with pytest.raises(ValueError, match=r"NIK serial \(last four digits\) must not be all zeros") as caught:
            parse_nik("1375015203900000")
        assert isinstance(caught.value, PydanticCustomError)
        assert caught.value.type == "nik_invalid"

    def test_error_messages_never_contain_the_whole_nik(self) -> None:
        for bad in ("9975015203900007", "1375015203900000", "1375017102900007"):
            assert bad not in only_error(NIK, bad)["msg"]  # type: ignore[operator]

    @pytest.mark.parametrize("bad", REJECTED_16_DIGIT_NIKS)
    def test_a_rejected_16_digit_nik_has_no_digit_of_it_in_message_or_context(self, bad: str) -> None:
        error = only_error(NIK, bad)
        message = str(error["msg"])
        assert not any(char.isdigit() for char in message), message
        assert error["ctx"] == {"reason": error["ctx"]["reason"]}  # type: ignore[index]

    def test_no_random_16_digit_string_gets_its_digits_echoed(self) -> None:
        rng = random.Random(16)
        reasons = set()
        for _ in range(2000):
            candidate = "".join(rng.choice("0123456789") for _ in range(16))
            try:
                parse_nik(candidate)
            except PydanticCustomError as exc:
                reasons.add((exc.context or {})["reason"])
                assert not any(char.isdigit() for char in exc.message()), (candidate, exc.message())
                assert exc.context == {"reason": (exc.context or {})["reason"]}
        assert {"province", "birth_day", "birth_month"} <= reasons  # the sample reached the checks

    @pytest.mark.parametrize("bad", ["137501520390007", "13750152039000071", "1375 0152 0390"])
    def test_a_wrong_length_message_states_only_the_length(self, bad: str) -> None:
        message = str(only_error(NIK, bad)["msg"])
        digits = bad.replace(" ", "")
        assert re.findall(r"[0-9]+", message) == ["16", str(len(digits))]


class TestNikInModels:
    class Applicant(BaseModel):
        nik: Nik
        name: str

    def test_field_is_normalised(self) -> None:
        applicant = self.Applicant(nik="13.75.01.520390.0007", name="Siti")
        assert applicant.nik == DOMAIN_EXAMPLE_NIK

    def test_validation_error_carries_type_location_message_and_context(self) -> None:
        with pytest.raises(ValidationError) as caught:
            self.Applicant(nik="9975015203900007", name="Siti")
        (error,) = caught.value.errors()
        assert error["type"] == "nik_invalid"
        assert error["loc"] == ("nik",)
        assert error["msg"] == PROVINCE
        assert error["ctx"] == {"reason": "province"}

    def test_errors_are_json_serialisable_for_api_bodies(self) -> None:
        with pytest.raises(ValidationError) as caught:
            self.Applicant(nik="137501", name="Siti")
        body = caught.value.json(include_url=False, include_input=False)
        assert '"type":"nik_invalid"' in body and "got 6" in body and "137501" not in body

    def test_json_schema_documents_the_format(self) -> None:
        schema = self.Applicant.model_json_schema()["properties"]["nik"]
        assert schema["type"] == "string"
        assert DOMAIN_EXAMPLE_NIK in schema["examples"]


class TestNikInfoPrivacy:
    def test_repr_shows_no_birth_date_or_full_nik(self) -> None:
        text = repr(parse_nik(DOMAIN_EXAMPLE_NIK))
        assert DOMAIN_EXAMPLE_NIK not in text
        assert "520390" not in text and "1990" not in text
        assert "1375**********07" in text


# ---------------------------------------------------------------------------
# mask_nik
# ---------------------------------------------------------------------------


class TestMaskNik:
    def test_keeps_region_prefix_and_last_two_digits(self) -> None:
        assert mask_nik(DOMAIN_EXAMPLE_NIK) == "1375**********07"

    def test_normalises_before_masking(self) -> None:
        assert mask_nik("13.75.01.520390.0007") == "1375**********07"

    @pytest.mark.parametrize("garbage", ["", "123", "13750152039000071", "abcdefghijklmnop", "1375 0152 0390 007"])
    def test_anything_that_is_not_a_nik_is_masked_entirely(self, garbage: str) -> None:
        masked = mask_nik(garbage)
        assert set(masked) == {"*"}

    def test_never_raises_on_non_strings(self) -> None:
        assert set(mask_nik(None)) == {"*"}  # type: ignore[arg-type]

    def test_never_reveals_the_birth_date(self) -> None:
        rng = random.Random(20260314)
        for _ in range(300):
            nik = make_nik(rng)
            masked = mask_nik(nik)
            assert len(masked) == 16
            assert masked[6:12] == "******"
            assert nik[6:12] not in masked
            assert sum(ch.isdigit() for ch in masked) == 6


# ---------------------------------------------------------------------------
# NPWP
# ---------------------------------------------------------------------------


class TestNpwp:
    def test_domain_example_check_digit_is_the_luhn_digit_of_the_first_8(self) -> None:
        # docs/domain-sources.md: 08.123.456.9 -- 9 is the Luhn check digit of 08123456.
        assert NPWP.validate_python("08.123.456.9-123.000") == "0081234569123000"

    @pytest.mark.parametrize(
        "typed",
        ["081234569123000", "08 123 456 9 123 000", "08.123.456.9-123.000", "0081234569123000"],
    )
    def test_legacy_and_entity_forms_normalise_to_16_digits(self, typed: str) -> None:
        assert NPWP.validate_python(typed) == "0081234569123000"

    def test_more_legacy_examples_with_a_correct_luhn_digit(self) -> None:
        # Luhn(01234567) = 4, Luhn(31000000) = 5 (computed by hand).
        assert NPWP.validate_python("01.234.567.4-331.000") == "0012345674331000"
        assert NPWP.validate_python("31.000.000.5-201.001") == "0310000005201001"

    def test_a_resident_individuals_npwp_is_their_nik(self) -> None:
        assert NPWP.validate_python("1375 0152 0390 0007") == DOMAIN_EXAMPLE_NIK

    @pytest.mark.parametrize(
        ("value", "actual", "expected"),
        [("08.123.456.8-123.000", 8, 9), ("0081234560123000", 0, 9), ("012345670331000", 0, 4)],
    )
    def test_wrong_check_digit_is_rejected(self, value: str, actual: int, expected: int) -> None:
        error = only_error(NPWP, value)
        assert error["type"] == "npwp_invalid"
        assert error["msg"] == (f"NPWP check digit is {actual}, expected {expected} (Luhn over the first 8 digits)")
        assert error["ctx"] == {"reason": "check_digit", "actual": actual, "expected": expected}

    def test_a_16_digit_npwp_not_starting_with_0_must_be_a_valid_nik(self) -> None:
        error = only_error(NPWP, "9975015203900007")
        assert error["type"] == "npwp_invalid"
        assert error["msg"] == f"NPWP of an individual must be a valid NIK: {PROVINCE}"
        assert isinstance(error["ctx"], dict) and error["ctx"]["nik_reason"] == "province"

    @pytest.mark.parametrize(("value", "length"), [("", 0), ("0812345691230", 13), ("00812345691230001", 17)])
    def test_wrong_length_is_rejected(self, value: str, length: int) -> None:
        error = only_error(NPWP, value)
        assert error["type"] == "npwp_invalid"
        assert error["msg"] == f"NPWP must be 16 digits (or the legacy 15), got {length}"

    def test_letters_are_rejected(self) -> None:
        error = only_error(NPWP, "08.123.456.9-ABC.000")
        assert (error["type"], error["ctx"]) == ("npwp_invalid", {"reason": "not_digits"})

    def test_every_generated_nik_is_a_valid_npwp(self) -> None:
        rng = random.Random(7)
        for _ in range(200):
            nik = make_nik(rng)
            assert NPWP.validate_python(nik) == nik


# ---------------------------------------------------------------------------
# Vehicle plates
# ---------------------------------------------------------------------------


class TestPlateNumber:
    @pytest.mark.parametrize(
        ("typed", "normalised"),
        [
            ("ba1234lz", "BA 1234 LZ"),
            ("BA 1234 LZ", "BA 1234 LZ"),
            ("  ba   1234lz ", "BA 1234 LZ"),
            ("BA-1234-LZ", "BA 1234 LZ"),
            ("b 1 abc", "B 1 ABC"),
            ("B1234XYZ", "B 1234 XYZ"),
            ("AB 4321 QA", "AB 4321 QA"),
            ("D 99", "D 99"),
            ("py 12 ab", "PY 12 AB"),
        ],
    )
    def test_any_spacing_and_case_normalises(self, typed: str, normalised: str) -> None:
        assert PLATE.validate_python(typed) == normalised

    def test_domain_examples_are_valid(self) -> None:
        assert PLATE.validate_python("BA 1234 LA") == "BA 1234 LA"
        assert PLATE.validate_python("BA 4321 LQ") == "BA 4321 LQ"

    @pytest.mark.parametrize(
        ("value", "reason", "message"),
        [
            ("XX 1234 AB", "region", "plate region code XX is not an Indonesian region code"),
            ("C 1234 AB", "region", "plate region code C is not an Indonesian region code"),
            ("BAL 1234", "region_length", "plate region code must be 1-2 letters, got 3"),
            ("BA 12345 LZ", "number_length", "plate number must be 1-4 digits, got 5"),
            ("BA 0123 LZ", "number_leading_zero", "plate number must not start with 0, got 0123"),
            ("BA 0 LZ", "number_leading_zero", "plate number must not start with 0, got 0"),
            ("B 1234 ABCD", "series_length", "plate series must be at most 3 letters, got 4"),
            *[
                (
                    bad,
                    "shape",
                    "plate number must be region letters, a 1-4 digit number and up to 3 series letters, e.g. 'BA 1234 LZ'",
                )
                for bad in ("", "1234 LZ", "BA LZ", "BA 1234 LZ 5", "BA 1234 L2", "BA 1234 ÉZ")
            ],
        ],
    )
    def test_each_rejection_names_the_problem(self, value: str, reason: str, message: str) -> None:
        assert refusal(PLATE, value) == ("plate_invalid", message, reason)

    def test_in_a_model_the_error_is_located_on_the_field(self) -> None:
        class Vehicle(BaseModel):
            plate: PlateNumber

        assert Vehicle(plate="ba1234lz").plate == "BA 1234 LZ"
        with pytest.raises(ValidationError) as caught:
            Vehicle(plate="QQ 1 A")
        (error,) = caught.value.errors()
        assert (error["type"], error["loc"]) == ("plate_invalid", ("plate",))


# ---------------------------------------------------------------------------
# Billing code
# ---------------------------------------------------------------------------


class TestBillingCode:
    def test_domain_sample_is_valid(self) -> None:
        assert BILLING.validate_python("820220922465628") == "820220922465628"

    def test_spaces_are_removed(self) -> None:
        assert BILLING.validate_python("8202 2092 2465 628") == "820220922465628"

    @pytest.mark.parametrize("first", ["7", "8", "9"])
    def test_simponi_codes_may_start_with_7_8_or_9(self, first: str) -> None:
        code = first + "20220922465628"
        assert BILLING.validate_python(code) == code

    @pytest.mark.parametrize(
        ("value", "reason", "message"),
        [
            ("", "length", "billing code must be 15 digits, got 0"),
            ("82022092246562", "length", "billing code must be 15 digits, got 14"),
            ("8202209224656281", "length", "billing code must be 15 digits, got 16"),
            *[
                (bad, "prefix", f"billing code must start with 7, 8 or 9 (SIMPONI billing), got {bad[0]}")
                for bad in ("020220922465628", "120220922465628", "620220922465628")
            ],
            (
                "82022092246562X",
                "not_digits",
                "billing code must contain only digits (spaces, dots and dashes are ignored)",
            ),
        ],
    )
    def test_each_rejection_names_the_problem(self, value: str, reason: str, message: str) -> None:
        assert refusal(BILLING, value) == ("billing_code_invalid", message, reason)


# ---------------------------------------------------------------------------
# Generators
# ---------------------------------------------------------------------------


class TestGenerators:
    def test_make_nik_always_produces_valid_niks_of_the_requested_region(self) -> None:
        rng = random.Random(1375)
        for _ in range(500):
            nik = make_nik(rng)
            assert NIK.validate_python(nik) == nik
            info = parse_nik(nik)
            assert info.district == "137501"
            assert date(1950, 1, 1) <= info.birth_date <= date(2007, 12, 31)

    def test_generated_birth_date_round_trips(self) -> None:
        rng = random.Random(99)
        for _ in range(300):
            nik = make_nik(rng)
            info = parse_nik(nik)
            day = info.birth_date.day + (40 if info.sex == "F" else 0)
            assert nik[6:12] == f"{day:02d}{info.birth_date:%m%y}"

    @pytest.mark.parametrize(("female", "sex"), [(True, "F"), (False, "M")])
    def test_make_nik_honours_the_requested_sex(self, female: bool, sex: str) -> None:
        rng = random.Random(5)
        assert {parse_nik(make_nik(rng, female=female)).sex for _ in range(200)} == {sex}

    def test_make_nik_picks_both_sexes_when_unspecified(self) -> None:
        rng = random.Random(6)
        assert {parse_nik(make_nik(rng)).sex for _ in range(200)} == {"F", "M"}

    def test_make_nik_accepts_other_regions(self) -> None:
        rng = random.Random(3)
        assert parse_nik(make_nik(rng, region="13.06.01")).regency == "1306"  # Kab. Agam
        assert parse_nik(make_nik(rng, region="960101")).province == "96"

    @pytest.mark.parametrize("region", ["99", "990101", "1375"])
    def test_make_nik_refuses_impossible_regions(self, region: str) -> None:
        with pytest.raises(ValueError):
            make_nik(random.Random(0), region=region)

    def test_generators_are_deterministic_for_a_seed(self) -> None:
        def batch(seed: int) -> list[str]:
            rng = random.Random(seed)
            return [make_nik(rng), make_plate(rng), make_billing_code(rng)] + [make_nik(rng, female=True) for _ in range(5)]

        assert batch(42) == batch(42)
        assert batch(42) != batch(43)

    def test_make_plate_always_produces_valid_normalised_plates(self) -> None:
        rng = random.Random(2026)
        for _ in range(500):
            plate = make_plate(rng)
            assert PLATE.validate_python(plate) == plate
            assert re.fullmatch(r"BA [1-9][0-9]{0,3} L[A-Z]?", plate), plate

    @pytest.mark.parametrize("region", sorted(PLATE_REGIONS))
    def test_make_plate_works_for_every_region(self, region: str) -> None:
        rng = random.Random(region)
        for _ in range(20):
            plate = make_plate(rng, region)
            assert PLATE.validate_python(plate) == plate
            assert plate.split(" ")[0] == region

    def test_make_plate_refuses_unknown_regions(self) -> None:
        with pytest.raises(ValueError):
            make_plate(random.Random(0), "XX")

    def test_make_billing_code_always_produces_valid_codes(self) -> None:
        rng = random.Random(8)
        codes = [make_billing_code(rng) for _ in range(500)]
        for code in codes:
            assert BILLING.validate_python(code) == code
        assert len(set(codes)) == len(codes)
        assert {code[0] for code in codes} == {"7", "8", "9"}
