"""`flask` commands: first admin, demo data, storage setup."""

from __future__ import annotations

import click
from flask import Flask

from portfolio.extensions import db


def register_cli(app: Flask) -> None:
    """Attach the project's commands to `flask`."""
    from portfolio.evidence.cli import register_cli as register_evidence_cli

    register_evidence_cli(app)
    from portfolio.core.jobs_cli import register_cli as register_jobs_cli

    register_jobs_cli(app)

    @app.cli.command("create-admin")
    @click.option("--email", required=True)
    @click.option("--name", "display_name", required=True)
    @click.option("--org-name", required=True, help="Name of the organization to create or join.")
    @click.option("--org-slug", required=True, help="Short URL name, e.g. acme-welding.")
    @click.password_option()
    def create_admin(
        email: str, display_name: str, org_name: str, org_slug: str, password: str
    ) -> None:
        """Create the first admin of an organization (creating the organization if needed)."""
        from sqlalchemy import select

        from portfolio.accounts import organizations, registration, sign_in
        from portfolio.accounts.models import Organization, Role
        from portfolio.core.errors import DomainError

        try:
            org = db.session.scalar(select(Organization).where(Organization.slug == org_slug))
            if org is None:
                org = organizations.create_organization(org_name, org_slug, email=email)
            user = sign_in.find_user_by_email(email) or registration.create_user(
                email, display_name, password
            )
            organizations.add_membership(user, org, Role.ADMIN)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            raise click.ClickException(exc.message) from exc
        click.echo(f"{user.email} is an admin of {org.name} (/o/{org.slug}).")

    @app.cli.command("purge-unconfirmed")
    def purge_unconfirmed() -> None:
        """Remove self-registered accounts whose email confirmation link expired unused."""
        from portfolio.accounts.registration import purge_unconfirmed_accounts

        removed = purge_unconfirmed_accounts()
        db.session.commit()
        click.echo(f"Removed {removed} unconfirmed account(s).")

    @app.cli.command("demo-data")
    def demo_data() -> None:
        """Load the demo organization and accounts (safe to run again)."""
        from portfolio.demo import DEMO_PASSWORD, load_demo

        summary = load_demo()
        click.echo(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
        from portfolio.core.labels import label

        for role, email in summary["accounts"]:
            click.echo(f"  {label(role).lower():<9} {email}")
        for line in summary.get("links", []):
            click.echo(line)

    @app.cli.command("reports-rebuild")
    def reports_rebuild() -> None:
        """Recount the report rollups from the decisions, scores and badges (the triggers keep
        them; this is for after restoring rows with triggers disabled)."""
        from sqlalchemy import func, select

        from portfolio.reports import rollups
        from portfolio.reports.models import DecisionDay

        rollups.rebuild(db.session.connection())
        db.session.commit()
        decided = db.session.scalar(select(func.coalesce(func.sum(DecisionDay.decided), 0)))
        click.echo(f"Report rollups recounted: {decided} decisions.")

    @app.cli.command("storage-init")
    def storage_init() -> None:
        """Create the S3 bucket if it is missing (development and test endpoints)."""
        from portfolio.storage import get_storage
        from portfolio.storage.s3 import S3Storage

        storage = get_storage()
        if isinstance(storage, S3Storage):
            storage.ensure_bucket()
            click.echo(f"Bucket {storage.bucket} is ready.")
        else:
            click.echo("Local storage needs no setup.")
