"""dsr: data-subject requests, their steps, deferred erasures, restrictions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 10:07:21.223669
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import datavern.core.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dsr_requests",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("register_version", sa.Integer(), nullable=True),
        sa.Column("identity_types", sa.JSON(), nullable=False),
        sa.Column("identities", sa.Text(), nullable=True),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("secret_options", sa.Text(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", datavern.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", datavern.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", datavern.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=200), nullable=True),
        sa.Column("lease_until", datavern.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dsr_requests")),
    )
    with op.batch_alter_table("dsr_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dsr_requests_status"), ["status"], unique=False)

    op.create_table(
        "dsr_deferred_erasures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=True),
        sa.Column("dataset", sa.String(length=200), nullable=False),
        sa.Column("collection", sa.String(length=200), nullable=False),
        sa.Column("row_key", sa.Text(), nullable=True),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("hold", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", datavern.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_at", datavern.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["dsr_requests.id"],
            name=op.f("fk_dsr_deferred_erasures_request_id_dsr_requests"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dsr_deferred_erasures")),
    )
    with op.batch_alter_table("dsr_deferred_erasures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dsr_deferred_erasures_due_on"), ["due_on"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_dsr_deferred_erasures_request_id"), ["request_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_dsr_deferred_erasures_state"), ["state"], unique=False)

    op.create_table(
        "dsr_restrictions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identity_type", sa.String(length=100), nullable=False),
        sa.Column("identity_hash", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", datavern.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lifted_at", datavern.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lifted_by", sa.String(length=200), nullable=True),
        sa.Column("lift_request_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["dsr_requests.id"],
            name=op.f("fk_dsr_restrictions_request_id_dsr_requests"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dsr_restrictions")),
    )
    with op.batch_alter_table("dsr_restrictions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dsr_restrictions_identity_hash"), ["identity_hash"], unique=False
        )

    op.create_table(
        "dsr_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("dataset", sa.String(length=200), nullable=False),
        sa.Column("collection", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("depends_on", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("data", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", datavern.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", datavern.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["dsr_requests.id"],
            name=op.f("fk_dsr_steps_request_id_dsr_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dsr_steps")),
        sa.UniqueConstraint("request_id", "number", name=op.f("uq_dsr_steps_request_id")),
    )
    with op.batch_alter_table("dsr_steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dsr_steps_request_id"), ["request_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dsr_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dsr_steps_request_id"))

    op.drop_table("dsr_steps")
    with op.batch_alter_table("dsr_restrictions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dsr_restrictions_identity_hash"))

    op.drop_table("dsr_restrictions")
    with op.batch_alter_table("dsr_deferred_erasures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dsr_deferred_erasures_state"))
        batch_op.drop_index(batch_op.f("ix_dsr_deferred_erasures_request_id"))
        batch_op.drop_index(batch_op.f("ix_dsr_deferred_erasures_due_on"))

    op.drop_table("dsr_deferred_erasures")
    with op.batch_alter_table("dsr_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dsr_requests_status"))

    op.drop_table("dsr_requests")
