"""`X-MPP-Signature`: what a portal checks before trusting a webhook delivery."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from hub.features.notifications.signing import WebhookSignatureError, new_secret, sign, verify_webhook

SECRET = "whsec_test-secret"
BODY = b'{"event_id":42,"type":"case.status_changed","case":{"id":"c","service":"samsat.pkb_annual","status":"COMPLETED"}}'
NOW = 1_760_000_000


def _code(excinfo: pytest.ExceptionInfo[WebhookSignatureError]) -> str:
    return excinfo.value.code


def test_a_valid_signature_verifies_and_returns_its_timestamp() -> None:
    header = sign(SECRET, BODY, NOW)
    assert verify_webhook(SECRET, BODY, header, now=NOW + 10) == NOW


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, BODY, NOW) == f"t={NOW},v1={expected}"


def test_str_and_bytes_bodies_are_the_same() -> None:
    assert sign(SECRET, BODY.decode(), NOW) == sign(SECRET, BODY, NOW)
    verify_webhook(SECRET, BODY.decode(), sign(SECRET, BODY, NOW), now=NOW)


def test_a_tampered_body_is_refused() -> None:
    header = sign(SECRET, BODY, NOW)
    with pytest.raises(WebhookSignatureError) as excinfo:
        verify_webhook(SECRET, BODY.replace(b"COMPLETED", b"REJECTED"), header, now=NOW)
    assert _code(excinfo) == "signature_invalid"


def test_a_wrong_secret_is_refused() -> None:
    header = sign("whsec_someone-else", BODY, NOW)
    with pytest.raises(WebhookSignatureError) as excinfo:
        verify_webhook(SECRET, BODY, header, now=NOW)
    assert _code(excinfo) == "signature_invalid"


def test_a_moved_timestamp_breaks_the_signature() -> None:
    """Replaying an old body with a fresh t= does not work: t is inside the MAC."""
    old = sign(SECRET, BODY, NOW - 3600)
    forged = old.replace(f"t={NOW - 3600}", f"t={NOW}")
    with pytest.raises(WebhookSignatureError) as excinfo:
        verify_webhook(SECRET, BODY, forged, now=NOW)
    assert _code(excinfo) == "signature_invalid"


@pytest.mark.parametrize("age", [301, -301, 86_400])
def test_a_stale_or_future_timestamp_is_refused(age: int) -> None:
    header = sign(SECRET, BODY, NOW - age)
    with pytest.raises(WebhookSignatureError) as excinfo:
        verify_webhook(SECRET, BODY, header, now=NOW)
    assert _code(excinfo) == "signature_stale"


def test_the_tolerance_is_adjustable() -> None:
    header = sign(SECRET, BODY, NOW - 30)
    verify_webhook(SECRET, BODY, header, now=NOW, tolerance_seconds=30)
    with pytest.raises(WebhookSignatureError):
        verify_webhook(SECRET, BODY, header, now=NOW, tolerance_seconds=29)


@pytest.mark.parametrize(
    "header",
    [
        "garbage",
        "t=abc,v1=" + "0" * 64,
        "t=1760000000",
        "v1=" + "0" * 64,
        "t=1760000000,v1=xyz",
        "t=1760000000,v1=" + "0" * 63,
        "t=1760000000,v1=" + "G" * 64,
        "t=1,t=2,v1=" + "0" * 64,
        "t=-5,v1=" + "0" * 64,
        ",,,",
    ],
)
def test_a_malformed_header_is_refused(header: str) -> None:
    with pytest.raises(WebhookSignatureError) as excinfo:
        verify_webhook(SECRET, BODY, header, now=NOW)
    assert _code(excinfo) == "signature_malformed"


@pytest.mark.parametrize("header", [None, ""])
def test_a_missing_header_is_refused(header: str | None) -> None:
    with pytest.raises(WebhookSignatureError) as excinfo:
        verify_webhook(SECRET, BODY, header, now=NOW)
    assert _code(excinfo) == "signature_missing"


def test_any_of_several_v1_signatures_may_match_for_secret_rotation() -> None:
    good = sign(SECRET, BODY, NOW).split("v1=")[1]
    other = sign("whsec_old", BODY, NOW).split("v1=")[1]
    verify_webhook(SECRET, BODY, f"t={NOW},v1={other},v1={good}", now=NOW)
    # Unknown schemes are ignored, not fatal.
    verify_webhook(SECRET, BODY, f"t={NOW},v0=whatever,v1={good}", now=NOW)


def test_secrets_are_random_and_long() -> None:
    a, b = new_secret(), new_secret()
    assert a != b and a.startswith("whsec_") and len(a) >= 40
