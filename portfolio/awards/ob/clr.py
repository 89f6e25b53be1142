"""Comprehensive Learner Record 2.0 `ClrCredential`, unsigned: one credential that bundles a
learner's signed Open Badges 3.0 credentials with the achievements they are for and how those
achievements relate (a pathway's stacked achievement and its components).

Sign the result with `portfolio.awards.ob.proof.sign_credential`. The contexts are the ones of
the CLR 2.0 specification's examples: credentials v2, CLR 2.0.1 (`ClrCredential`, `ClrSubject`,
`Association`) and OB 3.0.3 (`Achievement`, `IdentityObject`). Every embedded credential keeps
its own `@context` and proof, so it verifies on its own, exactly as issued.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from portfolio.awards.ob.common import (
    CLR2_CONTEXT,
    CREDENTIALS_V2_CONTEXT,
    OB3_CONTEXT,
    drop_none,
    format_datetime,
)
from portfolio.awards.ob.ob3 import identity_object, issuer_profile
from portfolio.awards.ob.types import IssuerInfo

CONTEXTS = [CREDENTIALS_V2_CONTEXT, CLR2_CONTEXT, OB3_CONTEXT]
CREDENTIAL_TYPES = ["VerifiableCredential", "ClrCredential"]
#: CLR 2.0 AssociationType values used for pathways.
IS_PARENT_OF = "isParentOf"
IS_CHILD_OF = "isChildOf"


@dataclass(frozen=True)
class PathwayLink:
    """A stacked achievement (`parent`) made of component achievements (`children`), by id."""

    parent: str
    children: tuple[str, ...]


def _achievement_of(credential: Mapping[str, Any]) -> dict[str, Any] | None:
    subject = credential.get("credentialSubject")
    if isinstance(subject, list):
        subject = subject[0] if subject else None
    achievement = subject.get("achievement") if isinstance(subject, Mapping) else None
    return copy.deepcopy(dict(achievement)) if isinstance(achievement, Mapping) else None


def achievements_of(credentials: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The achievements of `credentials`, each once (by id), in the order first seen."""
    seen: dict[str, dict[str, Any]] = {}
    for credential in credentials:
        achievement = _achievement_of(credential)
        if achievement is not None and achievement.get("id") not in seen:
            seen[str(achievement.get("id"))] = achievement
    return list(seen.values())


def associations(links: Iterable[PathwayLink], present: set[str]) -> list[dict[str, Any]]:
    """`Association`s between each pathway's achievement and its components, both ways
    (isParentOf from the stack, isChildOf from each component); only between achievements the
    record holds, so every `sourceId` and `targetId` resolves inside it."""
    out: list[dict[str, Any]] = []
    for link in links:
        if link.parent not in present:
            continue
        for child in link.children:
            if child not in present or child == link.parent:
                continue
            out.append(_association(IS_PARENT_OF, link.parent, child))
            out.append(_association(IS_CHILD_OF, child, link.parent))
    return out


def _association(kind: str, source: str, target: str) -> dict[str, Any]:
    return {"type": "Association", "associationType": kind, "sourceId": source, "targetId": target}


def clr_credential(
    *,
    id: str,
    issuer: IssuerInfo,
    name: str,
    description: str,
    issued: datetime,
    recipient_email: str,
    salt: str,
    credentials: Sequence[Mapping[str, Any]],
    pathways: Iterable[PathwayLink] = (),
) -> dict[str, Any]:
    """The unsigned `ClrCredential` of a learner (identified, like in each badge, by the salted
    hash of their email) holding the signed `credentials`."""
    if not credentials:
        raise ValueError("a learner record needs at least one credential")
    achievements = achievements_of(credentials)
    present = {str(a.get("id")) for a in achievements}
    subject = drop_none(
        {
            "type": ["ClrSubject"],
            "identifier": [identity_object(recipient_email, salt)],
            "verifiableCredential": [copy.deepcopy(dict(c)) for c in credentials],
            "achievement": achievements,
            "association": associations(pathways, present),
        }
    )
    return drop_none(
        {
            "@context": list(CONTEXTS),
            "id": id,
            "type": list(CREDENTIAL_TYPES),
            "name": name,
            "description": description,
            "issuer": issuer_profile(issuer),
            "validFrom": format_datetime(issued),
            "credentialSubject": subject,
        }
    )
