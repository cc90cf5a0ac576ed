"""Initial schema: partners, the six result tables, scored months, API tokens.

Revision ID: 0001
Revises:
Create Date: 2025-11-26

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _month() -> sa.Column:
    return sa.Column("month", sa.Date(), nullable=False)


def _key(name: str) -> sa.Column:
    return sa.Column(name, sa.String(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "partner",
        sa.Column("partner_id", sa.String(), nullable=False),
        sa.Column("partner_name", sa.String(), nullable=True),
        sa.Column("in_registry", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("partner_id", name="pk_partner"),
    )

    op.create_table(
        "eligible_tenant",
        _month(),
        _key("tenant_id"),
        _key("track"),
        sa.Column("max_paid_seats", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("month", "tenant_id", "track", name="pk_eligible_tenant"),
        sqlite_with_rowid=False,
    )

    op.create_table(
        "holding",
        _month(),
        _key("partner_id"),
        _key("tenant_id"),
        _key("option"),
        _key("workload"),
        sa.Column("associated_on", sa.Date(), nullable=False),
        sa.Column("paid_seats", sa.BigInteger(), nullable=False),
        sa.Column("active_users", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("month", "partner_id", "tenant_id", "option", "workload", name="pk_holding"),
        sqlite_with_rowid=False,
    )

    op.create_table(
        "metric_point",
        _month(),
        _key("partner_id"),
        _key("track"),
        _key("metric"),
        _key("option"),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("current", sa.BigInteger(), nullable=False),
        sa.Column("year_ago", sa.BigInteger(), nullable=False),
        sa.Column("adjustment", sa.BigInteger(), nullable=False),
        sa.Column("points", sa.Double(), nullable=False),
        sa.Column("max_points", sa.Double(), nullable=False),
        sa.Column("is_winner", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("month", "partner_id", "track", "metric", "option", name="pk_metric_point"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_metric_point_partner_id_month", "metric_point", ["partner_id", "month"])

    op.create_table(
        "path_score",
        _month(),
        _key("partner_id"),
        _key("track"),
        sa.Column("total", sa.Double(), nullable=False),
        sa.Column("qualifies", sa.Boolean(), nullable=False),
        sa.Column("metrics_at_minimum", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("month", "partner_id", "track", name="pk_path_score"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_path_score_partner_id_month", "path_score", ["partner_id", "month"])

    op.create_table(
        "designation",
        _month(),
        _key("partner_id"),
        sa.Column("attained", sa.Boolean(), nullable=False),
        sa.Column("best_track", sa.String(), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("rulebook_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("month", "partner_id", name="pk_designation"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_designation_partner_id_month", "designation", ["partner_id", "month"])
    op.create_index(
        "ix_designation_month_attained_score_partner_id",
        "designation",
        ["month", "attained", "score", "partner_id"],
    )

    op.create_table(
        "customer_detail",
        _month(),
        _key("partner_id"),
        _key("tenant_id"),
        _key("track"),
        _key("option"),
        sa.Column("eligible", sa.Boolean(), nullable=False),
        sa.Column("workloads", sa.BigInteger(), nullable=False),
        sa.Column("associated_on", sa.Date(), nullable=True),
        sa.Column("paid_seats", sa.BigInteger(), nullable=False),
        sa.Column("active_users", sa.BigInteger(), nullable=False),
        sa.Column("counted", sa.Boolean(), nullable=False),
        sa.Column("counted_year_ago", sa.Boolean(), nullable=False),
        sa.Column("deployed", sa.Boolean(), nullable=False),
        sa.Column("deployed_year_ago", sa.Boolean(), nullable=False),
        sa.Column("excluded", sa.Boolean(), nullable=False),
        sa.Column("baseline_users", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("month", "partner_id", "tenant_id", "track", "option", name="pk_customer_detail"),
        sqlite_with_rowid=False,
    )

    op.create_table(
        "scored_month",
        _month(),
        sa.Column("rulebook_id", sa.String(), nullable=False),
        sa.Column("partners_scored", sa.BigInteger(), nullable=False),
        sa.Column("partners_attained", sa.BigInteger(), nullable=False),
        sa.Column("materialized_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("month", name="pk_scored_month"),
    )

    op.create_table(
        "api_token",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("partner_id", sa.String(), nullable=False),
        sa.Column("label", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_api_token"),
        sa.UniqueConstraint("token_hash", name="uq_api_token_token_hash"),
    )
    op.create_index("ix_api_token_partner_id", "api_token", ["partner_id"])


def downgrade() -> None:
    op.drop_index("ix_api_token_partner_id", table_name="api_token")
    op.drop_table("api_token")
    op.drop_table("scored_month")
    op.drop_table("customer_detail")
    op.drop_index("ix_designation_month_attained_score_partner_id", table_name="designation")
    op.drop_index("ix_designation_partner_id_month", table_name="designation")
    op.drop_table("designation")
    op.drop_index("ix_path_score_partner_id_month", table_name="path_score")
    op.drop_table("path_score")
    op.drop_index("ix_metric_point_partner_id_month", table_name="metric_point")
    op.drop_table("metric_point")
    op.drop_table("holding")
    op.drop_table("eligible_tenant")
    op.drop_table("partner")
