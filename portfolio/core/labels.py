"""Plain words for every code a page would otherwise show: states, outcomes, roles, recorded
actions and file types. Templates use the `label`, `action_label` and `type_label` filters; no
page prints a raw state or MIME type."""

from __future__ import annotations

from enum import Enum

#: One word for the people who collect evidence and earn badges, everywhere on screen. The role's
#: code name stays `learner`.
PERSON = "worker"

#: States and outcomes by their stored value. Keys are unique across the enums that use them, or
#: mean the same thing in each (e.g. "draft", "published").
STATES: dict[str, str] = {
    # submissions
    "draft": "Draft",
    "submitted": "Submitted, waiting for an assessor",
    "in_review": "In review",
    "passed": "Passed",
    "needs_revision": "Needs revision",
    "failed": "Not passed",
    "withdrawn": "Withdrawn",
    # review outcomes
    "pass": "Passed",
    "fail": "Not passed",
    # credentials and rubric versions
    "published": "Published",
    "archived": "Archived",
    # awards
    "valid": "Valid",
    "expired": "Expired",
    "revoked": "Revoked",
    # evidence
    "uploading": "Uploading",
    "ready": "Ready",
    "rejected": "Refused",
    "file": "File",
    "link": "Link",
    "text": "Written reflection",
    # roles
    "learner": "Worker",
    "assessor": "Assessor",
    "admin": "Admin",
    "moderator": "Moderator",
    # The organization role `verifier` (internal verification, IQA): never plain "Verifier",
    # which a reader could take for the public credential verifier.
    "verifier": "Internal verifier",
    # pathway rules
    "all": "All of them",
    "n_of": "A number of them",
}

#: Recorded actions (audit events) in words, as a submission's history shows them.
ACTIONS: dict[str, str] = {
    "submission.start": "Started",
    "submission.submit": "Submitted for review",
    "submission.withdraw": "Withdrawn by the worker",
    "submission.claim": "Claimed by an assessor",
    "submission.release": "Released back to the queue",
    "review.record": "Decision recorded",
    "award.issue": "Badge issued",
    "award.revoke": "Badge revoked",
    "award.hide": "Badge details hidden",
    "award.show": "Badge details shown",
    "evidence.create": "Evidence added",
    "evidence.update": "Evidence changed",
    "evidence.delete": "Evidence deleted",
    "credential.create": "Credential created",
    "credential.update": "Credential changed",
    "credential.publish": "Credential published",
    "credential.archive": "Credential archived",
    "credential.restore": "Credential restored",
    "rubric.publish": "Rubric published",
    "membership.remove": "Role removed",
    "issuer.rotate_key": "Signing key replaced",
}

#: File types by MIME type, in the words people use for them.
TYPES: dict[str, str] = {
    "image/jpeg": "JPEG photo",
    "image/png": "PNG image",
    "image/gif": "GIF image",
    "image/webp": "WebP image",
    "image/heic": "HEIC photo",
    "image/heif": "HEIF photo",
    "video/mp4": "MP4 video",
    "video/quicktime": "QuickTime video",
    "video/webm": "WebM video",
    "audio/mpeg": "MP3 audio",
    "audio/mp4": "M4A audio",
    "audio/ogg": "Ogg audio",
    "audio/webm": "WebM audio",
    "audio/wav": "WAV audio",
    "audio/x-wav": "WAV audio",
    "application/pdf": "PDF document",
    "text/plain": "Text file",
    "text/csv": "CSV table",
    "application/msword": "Word document",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word document",
    "application/vnd.ms-excel": "Excel spreadsheet",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel spreadsheet",
    "application/vnd.ms-powerpoint": "PowerPoint presentation",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (
        "PowerPoint presentation"
    ),
    "application/vnd.oasis.opendocument.text": "OpenDocument text",
    "application/vnd.oasis.opendocument.spreadsheet": "OpenDocument spreadsheet",
    "application/vnd.oasis.opendocument.presentation": "OpenDocument presentation",
}

_FAMILIES = {"image": "Image", "video": "Video", "audio": "Audio recording", "text": "Text file"}


def label(value: object) -> str:
    """The words for a state, outcome, role or kind ("needs_revision" → "Needs revision")."""
    if value is None:
        return ""
    key = value.value if isinstance(value, Enum) else str(value)
    return STATES.get(key, key.replace("_", " ").capitalize())


def action_label(action: str) -> str:
    """The words for a recorded action ("review.record" → "Decision recorded")."""
    if action in ACTIONS:
        return ACTIONS[action]
    noun, _, verb = action.partition(".")
    return f"{noun.capitalize()}: {verb.replace('_', ' ')}" if verb else action


def type_label(media_type: str | None) -> str:
    """The words for a MIME type ("application/pdf" → "PDF document"); never the raw type."""
    if not media_type:
        return "File"
    base = media_type.split(";", 1)[0].strip().lower()
    if base in TYPES:
        return TYPES[base]
    family = base.split("/", 1)[0]
    return _FAMILIES.get(family, "File")
