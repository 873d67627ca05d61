"""case NIK blind index: cases.nik_index, HMAC-SHA256 of the applicant's NIK under its
own key, for the data subject's trail (UU PDP art. 32); `mpp-hub privacy reindex` fills
it for cases submitted before (the key is not available to a migration)

Revision ID: 0011
Revises: 0010
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("nik_index", sa.String(length=64), nullable=True))
        batch.create_index("ix_cases_nik_index", ["nik_index"])


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_nik_index")
        batch.drop_column("nik_index")
