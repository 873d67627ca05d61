"""dead letters: the archive of mpp.deadletter and its append-only audit trail
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hub.db.models import UtcDateTime

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dlq_partition", sa.Integer(), nullable=False),
        sa.Column("dlq_offset", sa.BigInteger(), nullable=False),
        sa.Column("original_topic", sa.String(length=200), nullable=True),
        sa.Column("original_partition", sa.Integer(), nullable=True),
        sa.Column("original_offset", sa.BigInteger(), nullable=True),
        sa.Column("key", sa.LargeBinary(), nullable=True),
        sa.Column("value", sa.LargeBinary(), nullable=True),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("error_class", sa.String(length=200), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=False),
        sa.Column("consumer", sa.String(length=100), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("correlation_id", sa.String(length=200), nullable=True),
        sa.Column("incoming_replay_count", sa.Integer(), nullable=False),
        sa.Column("dead_lettered_at", UtcDateTime(), nullable=False),
        sa.Column("archived_at", UtcDateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("replay_count", sa.Integer(), nullable=False),
        sa.Column("last_replayed_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dlq_partition", "dlq_offset", name="uq_dead_letters_dlq_position"),
    )
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dead_letters_original_topic"), ["original_topic"], unique=False)
        batch_op.create_index(batch_op.f("ix_dead_letters_error_class"), ["error_class"], unique=False)
        batch_op.create_index(batch_op.f("ix_dead_letters_consumer"), ["consumer"], unique=False)
        batch_op.create_index(batch_op.f("ix_dead_letters_status"), ["status"], unique=False)

    op.create_table(
        "dead_letter_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dead_letter_id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("result", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["dead_letter_id"], ["dead_letters.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("dead_letter_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dead_letter_audit_dead_letter_id"), ["dead_letter_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dead_letter_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dead_letter_audit_dead_letter_id"))
    op.drop_table("dead_letter_audit")
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dead_letters_status"))
        batch_op.drop_index(batch_op.f("ix_dead_letters_consumer"))
        batch_op.drop_index(batch_op.f("ix_dead_letters_error_class"))
        batch_op.drop_index(batch_op.f("ix_dead_letters_original_topic"))
    op.drop_table("dead_letters")
