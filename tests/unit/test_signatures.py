"""One signature scheme for webhooks (hub -> portal) and agency callbacks (agency -> hub).

The header formats are wire contracts with portals and agencies that verify or sign on
their own; these tests pin the bytes each side signs and the codes each side answers.
(The webhook side's own rules are in test_webhook_signing.py.)
"""

from __future__ import annotations

import hashlib
import hmac
import uuid

import pytest

from adapters.sdk.callbacks import CallbackRejected
from adapters.sdk.callbacks import sign as sign_callback
from adapters.sdk.callbacks import verify as verify_callback
from hub.features.notifications.signing import sign as sign_webhook
from schemas.signatures import SignatureError, digest, parse, sign, verify

SECRET = "rahasia-bersama"
STEP_ID = uuid.UUID("5d1f1b5e-7c4e-4c55-9d1a-2b1b7f0e8a11")
BODY = b'{"nomor_registrasi":"SKCK/1","status":"TERBIT"}'
NOW = 1_760_000_000


def _hmac(message: bytes) -> str:
    return hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()


def test_a_callback_signs_timestamp_dot_step_id_dot_body() -> None:
    assert sign_callback(SECRET, STEP_ID, BODY, NOW) == f"t={NOW},v1={_hmac(f'{NOW}.{STEP_ID}.'.encode() + BODY)}"
    assert sign_callback(SECRET, str(STEP_ID), BODY, NOW) == sign_callback(SECRET, STEP_ID, BODY, NOW)


def test_webhooks_and_callbacks_are_one_scheme_with_or_without_context() -> None:
    assert sign_webhook(SECRET, BODY, NOW) == sign(SECRET, BODY, timestamp=NOW) == f"t={NOW},v1={digest(SECRET, NOW, BODY)}"
    assert sign_callback(SECRET, STEP_ID, BODY, NOW) == sign(SECRET, BODY, context=(str(STEP_ID),), timestamp=NOW)


def test_a_valid_callback_verifies_and_returns_its_signature_as_the_replay_key() -> None:
    header = sign_callback(SECRET, STEP_ID, BODY, NOW)
    assert verify_callback(SECRET, STEP_ID, BODY, header, now=NOW + 300) == header.split("v1=")[1]


def test_the_replay_key_is_the_matching_signature_whatever_else_the_header_carries() -> None:
    """Padding a captured header with other v1 entries does not make it a new callback."""
    header = sign_callback(SECRET, STEP_ID, BODY, NOW)
    good = header.split("v1=")[1]
    padded = f"t={NOW},v1={'0' * 64},v1={good},v0=x"
    assert verify_callback(SECRET, STEP_ID, BODY, padded, now=NOW) == good


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "callback_signature_missing"),
        ("", "callback_signature_missing"),
        ("garbage", "callback_signature_malformed"),
        (f"t={NOW}", "callback_signature_malformed"),
        (f"t=abc,v1={'0' * 64}", "callback_signature_malformed"),
        (sign_callback(SECRET, STEP_ID, BODY, NOW - 301), "callback_stale"),
        (sign_callback(SECRET, STEP_ID, BODY, NOW + 301), "callback_stale"),
        (sign_callback("tebakan", STEP_ID, BODY, NOW), "callback_signature_invalid"),
        (sign_callback(SECRET, uuid.uuid4(), BODY, NOW), "callback_signature_invalid"),
        (sign_callback(SECRET, STEP_ID, BODY + b" ", NOW), "callback_signature_invalid"),
    ],
    ids=["none", "empty", "garbage", "no-v1", "bad-t", "old", "future", "wrong-secret", "other-step", "other-body"],
)
def test_a_forged_stale_or_malformed_callback_is_refused_with_its_code(header: str | None, code: str) -> None:
    with pytest.raises(CallbackRejected) as excinfo:
        verify_callback(SECRET, STEP_ID, BODY, header, now=NOW)
    assert excinfo.value.code == code
    if code in ("callback_signature_missing", "callback_signature_malformed"):
        assert "X-Callback-Signature" in str(excinfo.value), "the agency's developer is told which header"


def test_the_shared_verifier_names_why_and_honours_its_tolerance() -> None:
    header = sign(SECRET, BODY, timestamp=NOW - 30)
    assert verify(SECRET, BODY, header, now=NOW, tolerance_seconds=30).timestamp == NOW - 30
    with pytest.raises(SignatureError) as excinfo:
        verify(SECRET, BODY, header, now=NOW, tolerance_seconds=29)
    assert excinfo.value.reason == "stale"
    with pytest.raises(SignatureError) as excinfo:
        verify(SECRET, BODY, header, now=NOW, context=("step",))
    assert excinfo.value.reason == "invalid", "a context the signer did not use does not verify"


def test_parse_reads_the_timestamp_and_every_v1_and_ignores_other_schemes() -> None:
    assert parse(f" t={NOW} , v1={'a' * 64},v0=zz,v1={'b' * 64}") == (NOW, ["a" * 64, "b" * 64])
    for bad in ("t=1,t=2,v1=" + "0" * 64, "t=-5,v1=" + "0" * 64, "t=1,v1=" + "A" * 64, ",,,"):
        with pytest.raises(ValueError):
            parse(bad)
