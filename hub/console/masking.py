"""What the console shows of a citizen: NIKs masked (``1375**********07``), names as
initials, every other 16-digit run masked too. Nothing personal is shown whole."""

from __future__ import annotations

from typing import Any

from hub.features.deadletters.masking import mask_nik_like
from schemas.identifiers import mask_nik

_NAME_FIELDS = ("name", "nama", "full_name", "mother_name", "nama_ibu")


def initials(name: str) -> str:
    """``"Siti Nurhaliza"`` -> ``"S. N."``."""
    return " ".join(f"{part[0].upper()}." for part in name.split() if part[:1].isalpha()) or "*"


def mask_value(key: str, value: Any) -> Any:
    lowered = key.lower()
    if isinstance(value, str) and "nik" in lowered:
        return mask_nik(value)
    if isinstance(value, str) and lowered in _NAME_FIELDS:
        return initials(value)
    if isinstance(value, str):
        return mask_nik_like(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return mask_nik_like(str(value)) if len(str(abs(value))) == 16 else value
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
