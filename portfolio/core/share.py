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
) -> str:
    """LinkedIn's add-to-profile link, with the expiry when the badge has one (without it,
    LinkedIn shows the certification as never expiring)."""
    fields: dict[str, object] = {
        "startTask": "CERTIFICATION_NAME",
        "name": name,
        "organizationName": organization,
        "issueYear": issued.year,
        "issueMonth": issued.month,
    }
    if expires is not None:
        fields["expirationYear"] = expires.year
        fields["expirationMonth"] = expires.month
    fields["certUrl"] = url
    fields["certId"] = cert_id
    return f"https://www.linkedin.com/profile/add?{urlencode(fields)}"
