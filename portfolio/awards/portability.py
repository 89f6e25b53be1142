"""Portability: the worker's whole portfolio as a streamed ZIP (evidence and every badge, baked
and as OB 3.0 JSON). The evidence side of the export is `portfolio.evidence.export`; account
deletion is `portfolio.accounts.services.delete_account`, each domain removing its own data.
"""

from __future__ import annotations

from collections.abc import Iterator

from portfolio.accounts.models import User
from portfolio.awards import issuance
from portfolio.awards.models import Award
from portfolio.core import audit
from portfolio.evidence.export import ExtraEntry, safe_name, stream_portfolio


def _badge_entries(user: User) -> list[ExtraEntry]:
    entries: list[ExtraEntry] = []
    for award in issuance.my_awards(user):
        if award.ob3_credential is None:
            continue  # being signed: in the next export, moments from now
        base = f"badges/{safe_name(award.credential.name, 'badge')}-{award.public_id}"
        meta = {
            "id": award.public_id,
            "name": award.credential.name,
            "issuer": award.organization.name,
            "issued": award.issued_at.isoformat(),
            "expires": award.expires_at.isoformat() if award.expires_at else None,
            "status": award.status(),
            "url": issuance.public_url("verify.badge", aid=award.public_id),
        }

        def baked(award: Award = award) -> Iterator[bytes]:
            yield issuance.baked_badge(award, "3.0", "png")[0]

        def document(award: Award = award) -> Iterator[bytes]:
            yield (award.ob3_credential or "").encode("utf-8")

        entries.append(ExtraEntry(f"{base}.png", baked, dict(meta, format="ob3-baked-png")))
        entries.append(ExtraEntry(f"{base}.json", document, dict(meta, format="ob3-json")))
    return entries


def export_portfolio(user: User) -> Iterator[bytes]:
    """The worker's portfolio as ZIP chunks (evidence, badges, manifest, index)."""
    return stream_portfolio(user, _badge_entries(user))


def record_export(user: User) -> None:
    """Audit a download of the whole portfolio (the caller commits before streaming it)."""
    audit.record(
        "portfolio.export", actor_id=user.id, subject_type="user", subject_id=user.public_id
    )
