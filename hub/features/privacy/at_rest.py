"""Cases' personal fields encrypted at rest, transparently for the code that uses them.

``cases.applicant`` and ``cases.data`` are sealed field by field under the case's data
key when a case is inserted or those columns change (mapper ``before_insert`` /
``before_update``), and opened when a case is loaded or refreshed; in memory a case
always holds clear values, in the database only ciphertext. The first insert makes the
data key and stores it wrapped in ``cases.data_key``. A case without a data key (from
before this) is read as it is; a shredded one (``SHREDDED``) reads as erased, empty, and
refuses new personal data.

Which master keys: :func:`configure` (the API and the router call it with their
settings); a process that did not gets them from ``get_settings()`` on first use.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Mapper, attributes
from sqlalchemy.orm.attributes import set_committed_value

from hub.db.models import Case
from hub.features.privacy.crypto import SHREDDED, MasterKeys, Shredded, new_data_key, open_fields, seal_fields
from hub.features.privacy.settings import PrivacySettings

SEALED_COLUMNS = ("applicant", "data")
_CLEAR = "_mpp_clear"
_keyring: MasterKeys | None = None


def configure(settings: PrivacySettings) -> MasterKeys:
    global _keyring
    _keyring = MasterKeys.from_settings(settings)
    return _keyring


def reset() -> None:
    """Forget the configured master keys: the next use reads the process's settings."""
    global _keyring
    _keyring = None


def keyring() -> MasterKeys:
    if _keyring is None:
        from hub.config import get_settings  # the process's own settings, read once

        return configure(get_settings().privacy)
    return _keyring


def is_shredded(case: Case) -> bool:
    return case.data_key == SHREDDED


def data_key_of(case: Case) -> bytes:
    if is_shredded(case):
        raise Shredded(f"case {case.id}: its data key was destroyed; it takes no personal data again")
    if case.data_key is None:
        case.data_key = keyring().wrap(key := new_data_key(), case.id)
        return key
    return keyring().unwrap(case.data_key, case.id)


def _seal(case: Case, names: tuple[str, ...]) -> None:
    if not names:
        return
    key = data_key_of(case)
    clear = {name: getattr(case, name) for name in names}
    case.__dict__[_CLEAR] = clear
    for name, value in clear.items():
        setattr(case, name, seal_fields(key, case.id, name, value))


def _restore(case: Case) -> None:
    """After the write: the clear values back, as the committed state (nothing left dirty)."""
    for name, value in case.__dict__.pop(_CLEAR, {}).items():
        set_committed_value(case, name, value)


def _open(case: Case, names: tuple[str, ...] | None = None) -> None:
    if case.data_key is None or is_shredded(case):
        return  # a shredded case's columns were emptied with its key
    wanted = [n for n in SEALED_COLUMNS if (names is None or n in names) and n in case.__dict__]
    if not wanted:
        return
    key = keyring().unwrap(case.data_key, case.id)
    for name in wanted:
        set_committed_value(case, name, open_fields(key, case.id, name, case.__dict__[name]))


@event.listens_for(Case, "before_insert")
def _before_insert(_mapper: Mapper[Any], _connection: Any, case: Case) -> None:
    _seal(case, SEALED_COLUMNS)


@event.listens_for(Case, "before_update")
def _before_update(_mapper: Mapper[Any], _connection: Any, case: Case) -> None:
    if case.data_key is None:  # a case from before encryption: sealed whole at its first change
        _seal(case, SEALED_COLUMNS)
    else:
        _seal(case, tuple(n for n in SEALED_COLUMNS if attributes.get_history(case, n).has_changes()))


@event.listens_for(Case, "after_insert")
@event.listens_for(Case, "after_update")
def _after_write(_mapper: Mapper[Any], _connection: Any, case: Case) -> None:
    _restore(case)


@event.listens_for(Case, "load")
def _on_load(case: Case, _context: Any) -> None:
    _open(case)


@event.listens_for(Case, "refresh")
def _on_refresh(case: Case, _context: Any, attrs: Any) -> None:
    _open(case, tuple(attrs) if attrs else None)
