"""steps: agency reference and polling schedule
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hub.db.models import UtcDateTime

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agency_ref", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("next_poll_at", UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column("poll_attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.create_index(batch_op.f("ix_steps_next_poll_at"), ["next_poll_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_steps_next_poll_at"))
        batch_op.drop_column("poll_attempts")
        batch_op.drop_column("next_poll_at")
        batch_op.drop_column("agency_ref")
