"""What the start page shows a visitor: the organizations with credentials on offer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, redirect, url_for
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from portfolio.accounts.models import Organization
from portfolio.accounts.signals import home_page_issuers
from portfolio.core.security import public
from portfolio.credentials.models import Credential, CredentialState
from portfolio.extensions import db

#: The start page lists at most this many issuers; the rest are reached through their links.
MAX_ISSUERS = 50


@dataclass(frozen=True)
class IssuerOnOffer:
    slug: str
    name: str
    description: str
    credentials: int
    allows_self_registration: bool


def issuers_on_offer() -> list[IssuerOnOffer]:
    """Organizations with at least one published credential, most credentials first (one
    query)."""
    count = func.count(Credential.id)
    rows = db.session.execute(
        select(Organization, count)
        .join(Credential, Credential.organization_id == Organization.id)
        .where(Credential.state == CredentialState.PUBLISHED)
        .group_by(Organization.id)
        .order_by(count.desc(), Organization.name)
        .limit(MAX_ISSUERS)
    ).all()
    return [
        IssuerOnOffer(
            org.slug, org.name, org.description, int(n), bool(org.allows_self_registration)
        )
        for org, n in rows
    ]


def answer_home_page_issuers(_sender: object, **_kwargs: Any) -> list[IssuerOnOffer]:
    """Receiver of `home_page_issuers`: the issuers the visitor home page lists."""
    return issuers_on_offer()


def init_app(app: Flask) -> None:
    """Connect the site's receivers."""
    home_page_issuers.connect(answer_home_page_issuers)


bp = Blueprint("site", __name__)


@bp.get("/favicon.ico")
@public
def favicon() -> Response:
    """Browsers ask for /favicon.ico by habit; pages name the SVG icon themselves."""
    response = redirect(url_for("static", filename="favicon.svg"), code=301)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
