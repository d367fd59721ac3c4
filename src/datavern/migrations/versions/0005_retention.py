"""retention: legal holds, sweep runs and their rules

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import datavern.core.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "retention_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("collection", sa.String(length=400), nullable=True),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("identity_type", sa.String(length=100), nullable=True),
        sa.Column("identity_hash", sa.String(length=64), nullable=True),
        sa.Column("identity_sealed", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("authority", sa.String(length=300), nullable=True),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("starts_at", datavern.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", datavern.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", datavern.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_by", sa.String(length=200), nullable=True),
        sa.Column("ended_at", datavern.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_holds")),
    )
    with op.batch_alter_table("retention_holds", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_retention_holds_identity_hash"), ["identity_hash"], unique=False
        )

    op.create_table(
        "retention_runs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("register_version", sa.Integer(), nullable=False),
        sa.Column("today", sa.Date(), nullable=False),
        sa.Column("batch_size", sa.Integer(), nullable=False),
        sa.Column("only_rules", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("started_at", datavern.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", datavern.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resumed", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(length=200), nullable=True),
        sa.Column("lease_until", datavern.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("signature", sa.String(length=64), nullable=True),
        sa.Column("scheduled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_runs")),
    )
    with op.batch_alter_table("retention_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_retention_runs_state"), ["state"], unique=False)

    op.create_table(
        "retention_run_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=200), nullable=False),
        sa.Column("collection", sa.String(length=400), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=True),
        sa.Column("cutoff", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("batches", sa.Integer(), nullable=False),
        sa.Column("last_key", sa.Text(), nullable=True),
        sa.Column("pending", sa.Text(), nullable=True),
        sa.Column("due_at_start", sa.BigInteger(), nullable=False),
        sa.Column("deleted", sa.BigInteger(), nullable=False),
        sa.Column("anonymised", sa.BigInteger(), nullable=False),
        sa.Column("aggregated", sa.BigInteger(), nullable=False),
        sa.Column("held", sa.BigInteger(), nullable=False),
        sa.Column("holds", sa.JSON(), nullable=False),
        sa.Column("max_batch_seconds", sa.Float(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", datavern.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", datavern.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["retention_runs.id"],
            name=op.f("fk_retention_run_rules_run_id_retention_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_run_rules")),
        sa.UniqueConstraint("run_id", "rule", name=op.f("uq_retention_run_rules_run_id")),
    )
    with op.batch_alter_table("retention_run_rules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_retention_run_rules_run_id"), ["run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("retention_run_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retention_run_rules_run_id"))
    op.drop_table("retention_run_rules")
    with op.batch_alter_table("retention_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retention_runs_state"))
    op.drop_table("retention_runs")
    with op.batch_alter_table("retention_holds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retention_holds_identity_hash"))
    op.drop_table("retention_holds")
