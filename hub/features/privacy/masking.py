"""How personal data is shown to operators, everywhere (API, console, `mpp-hub dlq`):
the one masking module.

NIKs keep province, regency and the last two digits (``1375**********07``), names
become initials, phones keep their prefix and last two digits, emails their first
letter and domain, addresses are hidden; any other 16-digit run (a NIK in free text,
a key or an integer) and any email address in free text are masked too. Stored bytes
that are UTF-8 JSON are shown as masked JSON text, anything else as base64. Seeing a
value unmasked is a separate, audited "reveal" (``hub.features.privacy.reveal``)."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

from schemas.identifiers import mask_nik

_NIK_LIKE = re.compile(r"(?<!\d)\d{16}(?!\d)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_NAME_FIELDS = frozenset(
    {"name", "nama", "full_name", "mother_name", "nama_ibu", "nama_lengkap", "father_name", "nama_ayah", "spouse_name"}
)
_PHONE_FIELDS = frozenset({"phone", "phone_number", "telepon", "no_telepon", "no_telp", "no_hp", "hp", "mobile", "msisdn", "whatsapp"})
_EMAIL_FIELDS = frozenset({"email", "e_mail", "surel"})
_ADDRESS_FIELDS = frozenset({"address", "alamat", "domicile_address", "alamat_domisili", "street"})
HIDDEN = "***"


def mask_nik_like(text: str) -> str:
    """Every NIK-like run (exactly 16 digits) and every email address in ``text`` masked."""
    return _EMAIL.sub(lambda match: mask_email(match.group()), _NIK_LIKE.sub(lambda match: mask_nik(match.group()), text))


def initials(name: str) -> str:
    """``"Siti Nurhaliza"`` -> ``"S. N."``."""
    return " ".join(f"{part[0].upper()}." for part in name.split() if part[:1].isalpha()) or "*"


def mask_phone(phone: str) -> str:
    """``"081234567890"`` -> ``"0812******90"``: the operator prefix and the last two digits."""
    digits = sum(c.isdigit() for c in phone)
    if digits < 8:
        return "*" * max(len(phone), 4)
    kept, seen, out = digits - 2, 0, []
    for c in phone:
        if c.isdigit():
            seen += 1
            out.append(c if seen <= 4 or seen > kept else "*")
        else:
            out.append(c)
    return "".join(out)


def mask_email(email: str) -> str:
    """``"siti.rahmah@example.id"`` -> ``"s***@example.id"``."""
    local, at, domain = email.partition("@")
    return f"{local[:1]}{HIDDEN}@{domain}" if at and local else HIDDEN


def mask_value(key: str, value: Any) -> Any:
    """``value`` of the field ``key``, masked by what the field is; containers at any depth."""
    lowered = key.lower()
    if isinstance(value, str):
        if "nik" in lowered:
            return mask_nik(value)
        if lowered in _NAME_FIELDS:
            return initials(value)
        if lowered in _PHONE_FIELDS:
            return mask_phone(value)
        if lowered in _EMAIL_FIELDS:
            return mask_email(value)
        if lowered in _ADDRESS_FIELDS:
            return HIDDEN
        return mask_nik_like(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return mask_nik_like(str(value)) if _NIK_LIKE.fullmatch(str(abs(value))) else value
    if isinstance(value, dict):
        return mask_fields(value)
    if isinstance(value, list):
        return [mask_value(key, item) for item in value]
    return value


def mask_fields(fields: dict[str, Any] | None) -> dict[str, Any]:
    return {mask_nik_like(str(k)): mask_value(str(k), v) for k, v in (fields or {}).items()}


def applicant_label(applicant: dict[str, Any] | None) -> str:
    """One line naming an applicant without identifying them: initials and masked NIK."""
    shown = mask_fields(applicant)
    parts = [str(shown[k]) for k in ("name", "nama") if k in shown] + [str(shown[k]) for k in ("nik",) if k in shown]
    return " · ".join(parts) or "-"


@dataclass(frozen=True)
class Shown:
    encoding: str  # "json" (masked text unless revealed) | "base64" | "none"
    text: str | None


def show_bytes(raw: bytes | None, *, reveal: bool = False) -> Shown:
    """Stored bytes for an operator: masked JSON text, or base64; ``reveal`` (audited by the caller) unmasked."""
    if raw is None:
        return Shown("none", None)
    try:
        parsed = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return Shown("base64", base64.b64encode(raw).decode("ascii"))
    return Shown("json", json.dumps(parsed if reveal else mask_value("", parsed), ensure_ascii=False))


def show_key(raw: bytes | None) -> str | None:
    """Keys are request ids: text when printable UTF-8, else base64."""
    if raw is None:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(raw).decode("ascii")
    return mask_nik_like(text) if text.isprintable() else "base64:" + base64.b64encode(raw).decode("ascii")
