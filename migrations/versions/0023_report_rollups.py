"""report rollups: decisions, scores and badges counted per organization, credential and day
by triggers that append +1/-1 rows (folded by a periodic job), so the reports dashboard sums a few rows per day instead of reading every decision
and score of the period; backfilled from the existing rows; and a covering index for the two
figures that still read decisions (people per credential, the time-to-decision percentiles)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02 00:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

from portfolio.reports import rollups

# revision identifiers, used by Alembic.
revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def _keys(last: str | None = None) -> list[sa.Column]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("credential_id", sa.Integer(), nullable=False),
        *([sa.Column(last, sa.Integer(), nullable=False)] if last else []),
    ]


def _counts(*names: str) -> list[sa.Column]:
    return [sa.Column(name, sa.Integer(), nullable=False) for name in names]


def _foreign_keys(table: str) -> list[sa.ForeignKeyConstraint]:
    return [
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f(f"fk_{table}_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credentials.id"],
            name=op.f(f"fk_{table}_credential_id_credentials"),
            ondelete="CASCADE",
        ),
    ]


def upgrade():
    op.create_table(
        "report_decision_days",
        *_keys("attempt"),
        *_counts("decided", "passed", "timed", *rollups.BUCKET_COLUMNS),
        *_foreign_keys("report_decision_days"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_decision_days")),
    )
    op.create_table(
        "report_element_days",
        *_keys("element_id"),
        *_counts("scored", "below"),
        *_foreign_keys("report_element_days"),
        sa.ForeignKeyConstraint(
            ["element_id"],
            ["rubric_elements.id"],
            name=op.f("fk_report_element_days_element_id_rubric_elements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_element_days")),
    )
    op.create_table(
        "report_award_days",
        *_keys(),
        *_counts("issued", "revoked", "expired"),
        *_foreign_keys("report_award_days"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_award_days")),
    )
    for table in ("report_decision_days", "report_element_days", "report_award_days"):
        op.create_index(f"ix_{table}_organization_id_day", table, ["organization_id", "day"])
    op.create_index(
        "ix_awards_organization_id_expires_at",
        "awards",
        ["organization_id", "expires_at"],
        postgresql_where=sa.text("expires_at IS NOT NULL"),
        sqlite_where=sa.text("expires_at IS NOT NULL"),
    )
    op.create_index(
        "ix_submissions_decided",
        "submissions",
        ["organization_id", "decided_at"],
        postgresql_include=["submitted_at", "state", "credential_id", "learner_id"],
        postgresql_where=sa.text("decided_at IS NOT NULL"),
        sqlite_where=sa.text("decided_at IS NOT NULL"),
    )
    bind = op.get_bind()
    rollups.install_triggers(bind)
    rollups.rebuild(bind)


def downgrade():
    rollups.drop_triggers(op.get_bind())
    op.drop_index("ix_submissions_decided", table_name="submissions")
    op.drop_index("ix_awards_organization_id_expires_at", table_name="awards")
    op.drop_table("report_award_days")
    op.drop_table("report_element_days")
    op.drop_table("report_decision_days")
