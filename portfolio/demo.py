"""Demo data for `make run`: a living system rather than an empty one. Idempotent."""

from __future__ import annotations

from typing import Any

from portfolio.accounts import services
from portfolio.accounts.models import Organization, Role
from portfolio.extensions import db

DEMO_PASSWORD = "portfolio-demo"  # noqa: S105 - published demo password, development only
DEMO_ORG_SLUG = "northwind-trades"
DEMO_ACCOUNTS = [
    (Role.ADMIN, "admin@northwind.example", "Ada Admin"),
    (Role.ASSESSOR, "assessor@northwind.example", "Sam Assessor"),
    (Role.LEARNER, "worker@northwind.example", "Wren Worker"),
]


def load_demo() -> dict[str, Any]:
    """Create the demo organization and its admin, assessor and worker if missing."""
    org = db.session.query(Organization).filter_by(slug=DEMO_ORG_SLUG).one_or_none()
    if org is None:
        org = services.create_organization(
            "Northwind Trades College",
            DEMO_ORG_SLUG,
            email="credentials@northwind.example",
            url="https://northwind.example",
            description="Work-based credentials for welding, electrical and care trades.",
            allows_self_registration=True,
        )
    for role, email, name in DEMO_ACCOUNTS:
        user = services.find_user_by_email(email) or services.create_user(
            email, name, DEMO_PASSWORD
        )
        services.add_membership(user, org, role)
    db.session.commit()
    return {
        "organization": org,
        "accounts": [(str(role), email) for role, email, _ in DEMO_ACCOUNTS],
        "links": [],
    }
