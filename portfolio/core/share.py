"""Links that put a badge somewhere else: LinkedIn's "add a certification" form."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode


def linkedin_add_url(
    *,
    name: str,
    organization: str,
    issued: datetime,
    expires: datetime | None,
    url: str,
    cert_id: str,
    organization_id: str | None = None,
) -> str:
    """LinkedIn's add-to-profile link, with the expiry when the badge has one (without it,
    LinkedIn shows the certification as never expiring), and the issuer's LinkedIn
    organization id when it set one (LinkedIn then links the company page instead of
    showing the plain name)."""
    fields: dict[str, object] = {"startTask": "CERTIFICATION_NAME", "name": name}
    if organization_id:
        fields["organizationId"] = organization_id
    else:
        fields["organizationName"] = organization
    fields |= {
        "issueYear": issued.year,
        "issueMonth": issued.month,
    }
    if expires is not None:
        fields["expirationYear"] = expires.year
        fields["expirationMonth"] = expires.month
    fields["certUrl"] = url
    fields["certId"] = cert_id
    return f"https://www.linkedin.com/profile/add?{urlencode(fields)}"
