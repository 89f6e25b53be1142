"""Marking plans of a credential: its settings (single or double, blind, moderators), the
versioned plan each submission is pinned to, and saving new settings."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portfolio.accounts.models import Organization, Role, User
from portfolio.accounts.organizations import require_role
from portfolio.core import audit
from portfolio.core.errors import Conflict, DomainError
from portfolio.extensions import db
from portfolio.submissions.models import (
    MarkingMode,
    MarkingPlanVersion,
    MarkingSettings,
    Submission,
    VerificationMode,
)


# -- settings ---------------------------------------------------------------------------------
def settings_for(credential_id: int) -> MarkingSettings:
    """The credential's current marking settings (what the settings page edits and what new
    submissions are pinned to); an unsaved default (single marking, no sampling) when the admin
    never set any. A submission's workflow follows `plan_for(sub)`, not this."""
    found = db.session.get(MarkingSettings, credential_id)
    return found if found is not None else _default_settings(credential_id)


def _default_settings(credential_id: int) -> MarkingSettings:
    """Unsaved settings of a credential the admin never configured: single marking, no
    sampling, no appeals (the behaviour before these settings existed)."""
    return MarkingSettings(
        credential_id=credential_id,
        mode=MarkingMode.SINGLE,
        is_blind=False,
        iqa_rate=0,
        iqa_first_n=0,
        iqa_every_fail=False,
        iqa_every_appeal=False,
        iqa_mode=VerificationMode.HOLD,
        appeal_days=None,
        sample_seed="",
        version=0,
    )


def _plan_of(settings: MarkingSettings) -> MarkingPlanVersion:
    """An unsaved plan version with the values of `settings` (the default plan, version 0,
    or settings saved before versions were kept)."""
    return MarkingPlanVersion(
        credential_id=settings.credential_id,
        version=settings.version or 0,
        mode=settings.mode,
        is_blind=settings.is_blind,
        iqa_rate=settings.iqa_rate,
        iqa_first_n=settings.iqa_first_n,
        iqa_every_fail=settings.iqa_every_fail,
        iqa_every_appeal=settings.iqa_every_appeal,
        iqa_mode=settings.iqa_mode,
        appeal_days=settings.appeal_days,
        sample_seed=settings.sample_seed,
    )


def _saved_plan(credential_id: int, version: int) -> MarkingPlanVersion | None:
    return db.session.scalar(
        select(MarkingPlanVersion).where(
            MarkingPlanVersion.credential_id == credential_id,
            MarkingPlanVersion.version == version,
        )
    )


def current_plan(credential_id: int) -> MarkingPlanVersion:
    """The plan version in force now for a credential (version 0: the default plan)."""
    settings = settings_for(credential_id)
    if settings.version:
        found = _saved_plan(credential_id, settings.version)
        if found is not None:
            return found
    return _plan_of(settings)


def plan_for(sub: Submission) -> MarkingPlanVersion:
    """The marking plan a submission is assessed under: the version in force when it was
    submitted, whatever the admin changed since. Rows submitted before plans were versioned
    (no pin) follow the current settings."""
    pinned = sub.marking_plan_version
    if pinned is None:
        return current_plan(sub.credential_id)
    if pinned == 0:
        return _plan_of(_default_settings(sub.credential_id))
    found = _saved_plan(sub.credential_id, pinned)
    return found if found is not None else current_plan(sub.credential_id)


def pin_plan(sub: Submission) -> None:
    """Pin the submission to the credential's plan version in force now (on submit)."""
    sub.marking_plan_version = settings_for(sub.credential_id).version or 0


def plan_history(credential_id: int) -> list[MarkingPlanVersion]:
    """Every saved version of a credential's marking plan, newest first."""
    return list(
        db.session.scalars(
            select(MarkingPlanVersion)
            .where(MarkingPlanVersion.credential_id == credential_id)
            .order_by(MarkingPlanVersion.version.desc())
        )
    )


@dataclass(frozen=True)
class SettingsInput:
    """What the admin's settings form says."""

    mode: MarkingMode = MarkingMode.SINGLE
    is_blind: bool = False
    iqa_rate: int = 0
    iqa_first_n: int = 0
    iqa_every_fail: bool = False
    iqa_every_appeal: bool = False
    iqa_mode: VerificationMode = VerificationMode.HOLD
    appeal_days: int | None = None


def save_settings(
    admin: User, org: Organization, credential_id: int, values: SettingsInput
) -> MarkingSettings:
    """Set a credential's marking workflow and sampling plan (admins). The sampling seed is
    made once and kept, so earlier draws can always be recomputed; the version goes up."""
    require_role(admin, org, Role.ADMIN)
    if not 0 <= values.iqa_rate <= 100:
        raise DomainError("The sampling rate is a percentage from 0 to 100.")
    if not 0 <= values.iqa_first_n <= 1000:
        raise DomainError("“First N decisions” must be between 0 and 1000.")
    if values.appeal_days is not None and not 1 <= values.appeal_days <= 365:
        raise DomainError("The appeal period is between 1 and 365 days (or empty: no appeals).")
    found = db.session.get(MarkingSettings, credential_id)
    if found is None:
        found = MarkingSettings(
            credential_id=credential_id, sample_seed=secrets.token_hex(16), version=0
        )
        db.session.add(found)
    found.mode = values.mode
    found.is_blind = values.is_blind and values.mode == MarkingMode.DOUBLE
    found.iqa_rate = values.iqa_rate
    found.iqa_first_n = values.iqa_first_n
    found.iqa_every_fail = values.iqa_every_fail
    found.iqa_every_appeal = values.iqa_every_appeal
    found.iqa_mode = values.iqa_mode
    found.appeal_days = values.appeal_days
    found.version = (found.version or 0) + 1
    # The version is kept as it was saved: work submitted under it is marked by it.
    db.session.add(
        MarkingPlanVersion(
            credential_id=credential_id,
            version=found.version,
            mode=found.mode,
            is_blind=found.is_blind,
            iqa_rate=found.iqa_rate,
            iqa_first_n=found.iqa_first_n,
            iqa_every_fail=found.iqa_every_fail,
            iqa_every_appeal=found.iqa_every_appeal,
            iqa_mode=found.iqa_mode,
            appeal_days=found.appeal_days,
            sample_seed=found.sample_seed,
            created_by_id=admin.id,
        )
    )
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        # Two admins saving at once would both write the same version number: one wins.
        db.session.rollback()
        raise Conflict(
            "Someone else has just changed these settings. Reload and try again."
        ) from exc
    audit.record(
        "marking.settings",
        actor_id=admin.id,
        organization_id=org.id,
        subject_type="credential",
        subject_id=str(credential_id),
        mode=str(found.mode),
        blind=found.is_blind,
        iqa_rate=found.iqa_rate,
        iqa_first_n=found.iqa_first_n,
        iqa_every_fail=found.iqa_every_fail,
        iqa_every_appeal=found.iqa_every_appeal,
        iqa_mode=str(found.iqa_mode),
        appeal_days=found.appeal_days,
        version=found.version,
    )
    return found
