"""The router's batch claim (hub/domain/cases.py): every message id of a partition's
batch is claimed in one statement, and only what that statement newly claimed is
applied, each message once, in batch order."""

from __future__ import annotations

import uuid

from sqlalchemy.dialects import postgresql, sqlite

from hub.domain.cases import claim_statement, first_claims

A, B, C = (uuid.UUID(int=n) for n in (1, 2, 3))


def test_only_newly_claimed_messages_are_applied_in_batch_order() -> None:
    assert first_claims([A, B, C], claimed={A, C}) == [0, 2]


def test_a_message_delivered_twice_in_one_batch_is_applied_once_at_its_first_occurrence() -> None:
    assert first_claims([A, B, A, C, B], claimed={A, B, C}) == [0, 1, 3]


def test_a_redelivered_batch_whose_claims_all_exist_applies_nothing() -> None:
    assert first_claims([A, B, C], claimed=set()) == []


def test_an_empty_batch_applies_nothing() -> None:
    assert first_claims([], claimed=set()) == []


def test_the_claim_is_one_insert_that_skips_existing_ids_and_returns_the_new_ones() -> None:
    for name, dialect in (("postgresql", postgresql.dialect()), ("sqlite", sqlite.dialect())):
        statement = claim_statement(name, "router", [A, B, A])
        sql = " ".join(str(statement.compile(dialect=dialect)).split())
        assert sql.startswith("INSERT INTO processed_messages (consumer, message_id, processed_at) VALUES")
        assert " ON CONFLICT DO NOTHING RETURNING " in sql and sql.endswith("message_id")
        rows = [v for k, v in statement.compile(dialect=dialect).params.items() if k.startswith("message_id")]
        assert rows == [A, B]  # an id twice in the batch is claimed once (one statement may not touch a row twice)
