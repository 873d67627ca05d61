"""adapter status: the latest circuit-breaker state per adapter worker instance
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hub.db.models import UtcDateTime

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "adapter_status",
        sa.Column("agency", sa.String(length=50), nullable=False),
        sa.Column("instance_id", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("opened_at", UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("agency", "instance_id"),
    )


def downgrade() -> None:
    op.drop_table("adapter_status")
