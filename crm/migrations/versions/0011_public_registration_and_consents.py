"""Public registration, its review queue and links, consent records

Revision ID: 0011
Revises: 0010
"""

from alembic import op
import sqlalchemy as sa

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


# (kind, which Likers had it) for the consents of Likers registered before this.
BACKFILLED_CONSENTS = (
    ("privacy_notice", "privacy_consented_at IS NOT NULL"),
    ("news", "news_opt_in"),
    ("public_name", "show_name_publicly"),
)


def upgrade():
    op.create_table(
        "consent_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supporter_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("notice_version", sa.String(length=20), nullable=True),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["supporter_id"],
            ["supporters.id"],
            name=op.f("fk_consent_records_supporter_id_supporters"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_consent_records_recorded_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_records")),
    )
    op.create_index(
        "ix_consent_records_supporter",
        "consent_records",
        ["supporter_id", "kind", "id"],
    )
    op.create_table(
        "event_registration_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_event_registration_links_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_event_registration_links_created_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_registration_links")),
        sa.UniqueConstraint("token", name=op.f("uq_event_registration_links_token")),
    )
    op.create_index(
        op.f("ix_event_registration_links_event_id"),
        "event_registration_links",
        ["event_id"],
    )
    op.create_table(
        "registrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supporter_id", sa.Integer(), nullable=False),
        sa.Column("submission_key", sa.String(length=64), nullable=False),
        sa.Column("identity_key", sa.String(length=64), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("event_day_id", sa.Integer(), nullable=True),
        sa.Column("held_for", sa.String(length=20), nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(), nullable=True),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["supporter_id"],
            ["supporters.id"],
            name=op.f("fk_registrations_supporter_id_supporters"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_registrations_event_id_events"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["event_day_id"],
            ["event_days.id"],
            name=op.f("fk_registrations_event_day_id_event_days"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"],
            ["users.id"],
            name=op.f("fk_registrations_reviewed_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registrations")),
        sa.UniqueConstraint("supporter_id", name=op.f("uq_registrations_supporter_id")),
        sa.UniqueConstraint(
            "submission_key", name=op.f("uq_registrations_submission_key")
        ),
        sa.UniqueConstraint("identity_key", name=op.f("uq_registrations_identity_key")),
    )
    op.create_index(
        op.f("ix_registrations_submitted_at"), "registrations", ["submitted_at"]
    )
    op.create_table(
        "rate_limit_counters",
        sa.Column("bucket", sa.String(length=40), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "bucket", "client", "window_start", name=op.f("pk_rate_limit_counters")
        ),
    )
    with op.batch_alter_table("supporters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("introduced_by_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_supporters_introduced_by_id"), ["introduced_by_id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_supporters_introduced_by_id_supporters"),
            "supporters",
            ["introduced_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
    # Likers registered before consent records existed: their consents as the
    # registry held them, entered by staff (who, it does not say).
    for kind, condition in BACKFILLED_CONSENTS:
        op.execute(
            "INSERT INTO consent_records (supporter_id, kind, granted, notice_version,"
            " channel, recorded_at, recorded_by_id)"
            f" SELECT id, '{kind}', true, privacy_policy_version, 'staff',"
            " coalesce(privacy_consented_at, created_at), NULL"
            f" FROM supporters WHERE {condition}"
        )
    with op.batch_alter_table("town_settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "registration_review",
                sa.Boolean(),
                nullable=False,
                server_default=sa.true(),
            )
        )


def downgrade():
    with op.batch_alter_table("town_settings", schema=None) as batch_op:
        batch_op.drop_column("registration_review")
    with op.batch_alter_table("supporters", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_supporters_introduced_by_id_supporters"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_supporters_introduced_by_id"))
        batch_op.drop_column("introduced_by_id")
    op.drop_table("rate_limit_counters")
    op.drop_index(op.f("ix_registrations_submitted_at"), table_name="registrations")
    op.drop_table("registrations")
    op.drop_index(
        op.f("ix_event_registration_links_event_id"),
        table_name="event_registration_links",
    )
    op.drop_table("event_registration_links")
    op.drop_index("ix_consent_records_supporter", table_name="consent_records")
    op.drop_table("consent_records")
