"""Plain words for states and kinds, defined once: pages, mail and notifications all say the
same thing. Keyed by the stored value, so every domain (and every template, through the
`label` filter) can use it without importing the domain's enums."""

from __future__ import annotations

from collections.abc import Mapping

#: A submission's state (`portfolio.submissions.models.SubmissionState`).
SUBMISSION_STATES: Mapping[str, str] = {
    "draft": "Draft",
    "submitted": "Submitted, waiting for an assessor",
    "in_review": "In review",
    "passed": "Passed",
    "needs_revision": "Needs revision",
    "failed": "Not passed",
    "withdrawn": "Withdrawn",
}

#: A credential's state in the catalogue (`portfolio.credentials.models.CredentialState`).
CREDENTIAL_STATES: Mapping[str, str] = {
    "draft": "Draft",
    "published": "Published",
    "archived": "Archived",
}

#: An award's status (`portfolio.awards.models.Award.status`).
AWARD_STATUSES: Mapping[str, str] = {
    "valid": "Valid",
    "expired": "Expired",
    "revoked": "Revoked",
}

LABELS: Mapping[str, Mapping[str, str]] = {
    "submission": SUBMISSION_STATES,
    "credential": CREDENTIAL_STATES,
    "award": AWARD_STATUSES,
}


def label(value: object, kind: str = "submission") -> str:
    """The plain words for `value` of `kind`; the value itself when it has none."""
    text = str(value)
    return LABELS.get(kind, {}).get(text, text)
