"""composite cases (step names, dependencies, input mapping, revisions) and SLA deadlines
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hub.db.models import UtcDateTime

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=20), nullable=False, server_default="single"))
        batch_op.add_column(sa.Column("sla_breached_at", UtcDateTime(), nullable=True))
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name", sa.String(length=100), nullable=False, server_default="main"))
        batch_op.add_column(sa.Column("depends_on", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("input_mapping", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("superseded_by", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("sla_due_at", UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column("sla_breached_at", UtcDateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_steps_sla_due_at"), ["sla_due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_steps_sla_due_at"))
        for column in ("sla_breached_at", "sla_due_at", "superseded_by", "input_mapping", "depends_on", "name"):
            batch_op.drop_column(column)
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("sla_breached_at")
        batch_op.drop_column("kind")
