"""case data key: cases.data_key, the case's AES-256 data key wrapped under a master key
(key id prefix); the applicant's and the data's fields are sealed under it from now on,
cases from before stay readable as they are

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("data_key", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("data_key")
