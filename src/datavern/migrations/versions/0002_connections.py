"""connections: external databases, URL encrypted at rest

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import datavern.core.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "connections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("backend", sa.String(length=30), nullable=False),
        sa.Column("encrypted_url", sa.Text(), nullable=False),
        sa.Column("display_url", sa.String(length=1000), nullable=False),
        sa.Column("created_at", datavern.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", datavern.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_test_at", datavern.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_test_ok", sa.Boolean(), nullable=True),
        sa.Column("last_test_message", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connections")),
        sa.UniqueConstraint("name", name=op.f("uq_connections_name")),
    )


def downgrade() -> None:
    op.drop_table("connections")
