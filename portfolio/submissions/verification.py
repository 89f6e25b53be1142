"""Internal verification (IQA): which decisions are sampled, and the verifier's verdict.

A draw is `HMAC-SHA256(seed, "<submission public id>:<round>")` read as a number in [0, 1):
random across submissions, yet the same every time it is recomputed from the seed stored with
the credential's settings, so an auditor can check that sampling was not steered. Rules come
before the draw: every appeal, every decision that is not a pass, an assessor's first N.

In *hold* mode a sampled decision waits for the verifier: agreeing makes it final (and issues
the award on a pass); sending it back starts a new marking round with the first marker. In
*after* mode the decision is already final; a disagreement opens a case for the admin, who may
revoke the award with a reason.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from blinker import Namespace
from flask import current_app, url_for
from sqlalchemy import select, update

from portfolio.accounts.models import Organization, Role, User
from portfolio.accounts.organizations import require_role
from portfolio.core import audit
from portfolio.core.db import utcnow
from portfolio.core.errors import Conflict, DomainError, Forbidden, NotFound
from portfolio.core.sanitize import clean_text
from portfolio.extensions import db
from portfolio.submissions import marking, marking_plans, moderation
from portfolio.submissions.models import (
    Marking,
    MarkingMode,
    MarkingPlanVersion,
    MarkingStage,
    SampleState,
    Submission,
    SubmissionState,
    VerificationMode,
    VerificationSample,
    WaitingFor,
)

_signals = Namespace()
#: Sent when an admin closes an after-mode case by revoking the decision's badge, with
#: `submission`, `actor` and `reason`: the awards package revokes the award with that reason.
case_revoked = _signals.signal("verification-case-revoked")


@dataclass(frozen=True)
class Draw:
    """Why a decision was sampled."""

    reason: str
    draw: str


def draw_value(seed: str, sub_public_id: str, round_: int) -> float:
    """The reproducible random number of one submission's round, in [0, 1)."""
    digest = hmac.new(seed.encode(), f"{sub_public_id}:{round_}".encode(), hashlib.sha256)
    return int.from_bytes(digest.digest()[:8], "big") / 2**64


def draw(
    sub: Submission,
    settings: MarkingPlanVersion,
    deciding: Marking,
    first_marker_id: int | None,
    *,
    is_appeal: bool = False,
) -> Draw | None:
    """Whether this decision is sampled, and why (None: not sampled)."""
    if not settings.sample_seed:
        return None
    value = draw_value(settings.sample_seed, sub.public_id, sub.marking_round)
    shown = f"{value:.4f}"
    if is_appeal and settings.iqa_every_appeal:
        return Draw("every appeal", shown)
    if settings.iqa_every_fail and deciding.outcome != "pass":
        return Draw("every decision that is not a pass", shown)
    if settings.iqa_first_n and first_marker_id is not None:
        made = moderation.decisions_count(first_marker_id, sub.credential_id)
        if made <= settings.iqa_first_n:
            return Draw(f"the assessor's first {settings.iqa_first_n} decisions", shown)
    if value * 100 < settings.iqa_rate:
        return Draw(f"random draw {shown} under {settings.iqa_rate} %", shown)
    return None


def open_sample(
    sub: Submission,
    settings: MarkingPlanVersion,
    deciding: Marking,
    first_marker_id: int | None,
    drawn: Draw,
) -> VerificationSample:
    """Record the sample (and its reason in the audit) and tell the verifiers."""
    sample = VerificationSample(
        organization_id=sub.organization_id,
        submission_id=sub.id,
        round=sub.marking_round,
        decided_by_id=deciding.marker_id,
        outcome=deciding.outcome,
        mode=settings.iqa_mode,
        reason=drawn.reason,
        draw=drawn.draw,
    )
    db.session.add(sample)
    db.session.flush()
    audit.record(
        "verification.sample",
        actor_id=None,
        organization_id=sub.organization_id,
        subject_type="submission",
        subject_id=sub.public_id,
        round=sub.marking_round,
        reason=drawn.reason,
        draw=drawn.draw,
        # The plan version the submission was marked under: what decided the sampling.
        plan_version=settings.version,
        mode=str(settings.iqa_mode),
    )
    org = db.session.get(Organization, sub.organization_id)
    assert org is not None
    moderation._notify_role(
        sub,
        Role.INTERNAL_VERIFIER,
        f"A decision on {sub.credential.name} was sampled for internal verification.",
        url_for("submissions.verify_decision", slug=org.slug, public_id=sub.public_id),
        exclude={first_marker_id, deciding.marker_id, sub.learner_id},
    )
    return sample


def open_sample_of(sub: Submission) -> VerificationSample | None:
    """The current round's sample, if the round was sampled."""
    return db.session.scalar(
        select(VerificationSample)
        .where(
            VerificationSample.submission_id == sub.id,
            VerificationSample.round == sub.marking_round,
        )
        .execution_options(populate_existing=True)
    )


def latest_sample(sub: Submission) -> VerificationSample | None:
    """The submission's most recent sample, of any round."""
    return db.session.scalar(
        select(VerificationSample)
        .where(VerificationSample.submission_id == sub.id)
        .order_by(VerificationSample.id.desc())
        .limit(1)
        .execution_options(populate_existing=True)
    )


def check_may_verify(verifier: User, org: Organization, sub: Submission) -> None:
    """An internal verifier of the organization who took no part in marking this round and
    whose work it is not."""
    require_role(verifier, org, Role.INTERNAL_VERIFIER)
    if sub.organization_id != org.id:
        raise NotFound("No such submission.")
    # Conflict of interest: the verifier is never the worker, a marker or the moderator.
    if sub.learner_id == verifier.id:
        raise Forbidden("You cannot verify your own work.")
    sample = latest_sample(sub)
    round_ = sample.round if sample else sub.marking_round
    scored = {
        m.marker_id
        for s, m in marking.round_markings(sub, round_).items()
        if s in marking.SCORING_STAGES
    }
    if verifier.id in scored:
        raise Forbidden("You marked or moderated this submission, so another verifier checks it.")


def verify(
    verifier: User, org: Organization, sub: Submission, *, agrees: bool, remark: str
) -> VerificationSample:
    """The verifier's verdict on a sampled decision."""
    check_may_verify(verifier, org, sub)
    sample = latest_sample(sub)
    if sample is None or sample.state != SampleState.WAITING:
        raise Conflict("There is no decision waiting for verification on this submission.")
    if not agrees and not remark.strip():
        raise DomainError("Say what the assessor should look at again.")
    new_state = SampleState.AGREED
    if not agrees:
        new_state = (
            SampleState.SENT_BACK if sample.mode == VerificationMode.HOLD else SampleState.CASE_OPEN
        )
    # The verdict is taken once: of two verifiers (or two clicks) at once, one wins.
    result = db.session.execute(
        update(VerificationSample)
        .where(VerificationSample.id == sample.id, VerificationSample.state == SampleState.WAITING)
        .values(
            state=new_state,
            verifier_id=verifier.id,
            remark=clean_text(remark, 5000),
            decided_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise Conflict("This decision has already been verified.")
    db.session.expire(sample)
    audit.record(
        "verification.verdict",
        actor_id=verifier.id,
        organization_id=org.id,
        subject_type="submission",
        subject_id=sub.public_id,
        round=sample.round,
        verdict=str(new_state),
        remark=clean_text(remark, 5000),
    )
    if sample.mode != VerificationMode.HOLD:
        if new_state == SampleState.CASE_OPEN:
            moderation._notify_role(
                sub,
                Role.ADMIN,
                f"An internal verifier disagrees with a decision on {sub.credential.name}.",
                url_for("submissions.cases", slug=org.slug),
                exclude={verifier.id, sub.learner_id},
            )
        return sample
    if sample.round != sub.marking_round or sub.waiting_for != WaitingFor.VERIFIER:
        db.session.rollback()
        raise Conflict("This decision has already been verified.")
    markings = marking.round_markings(sub)
    marking.new_marking(
        sub,
        MarkingStage.VERIFICATION,
        verifier,
        [],
        outcome="agree" if agrees else "send_back",
        reason=remark,
    )
    deciding = (
        markings.get(MarkingStage.APPEAL)
        or markings.get(MarkingStage.MODERATION)
        or markings.get(MarkingStage.SECOND)
        or markings[MarkingStage.FIRST]
    )
    if agrees:
        moderation.finalize(sub, deciding, verifier)
        return sample
    send_back(verifier, org, sub, markings, remark)
    return sample


def send_back(
    verifier: User,
    org: Organization,
    sub: Submission,
    markings: dict[MarkingStage, Marking],
    remark: str,
) -> None:
    """Start a new marking round with the first marker, who is told the verifier's remark."""
    from portfolio.submissions.notifications import notify

    first = markings.get(MarkingStage.FIRST) or markings.get(MarkingStage.APPEAL)
    settings = marking_plans.plan_for(sub)
    marking.take(
        sub,
        states=(SubmissionState.IN_REVIEW,),
        waiting=(WaitingFor.VERIFIER,),
        message="This decision has already been verified.",
        state=SubmissionState.SUBMITTED,
        marking_round=Submission.marking_round + 1,
        waiting_for=WaitingFor.MARKER if settings.mode == MarkingMode.DOUBLE else None,
        allocated_to_id=first.marker_id if first else None,
        claimed_by_id=None,
        claim_expires_at=None,
    )
    audit.record(
        "verification.send_back",
        actor_id=verifier.id,
        organization_id=org.id,
        subject_type="submission",
        subject_id=sub.public_id,
        remark=clean_text(remark, 5000),
        to=first.marker_id if first else None,
    )
    if first is not None and first.marker is not None:
        notify(
            first.marker,
            f"An internal verifier sent back your decision on {sub.credential.name}: "
            f"{clean_text(remark, 300)}",
            url_for("submissions.review", slug=org.slug, public_id=sub.public_id),
        )


def waiting_samples(verifier: User, org: Organization) -> list[VerificationSample]:
    """Samples waiting for a verdict in the organization, oldest first."""
    require_role(verifier, org, Role.INTERNAL_VERIFIER, Role.ADMIN)
    return list(
        db.session.scalars(
            select(VerificationSample)
            .where(
                VerificationSample.organization_id == org.id,
                VerificationSample.state == SampleState.WAITING,
            )
            .order_by(VerificationSample.created_at, VerificationSample.id)
            .limit(200)
        )
    )


def open_cases(admin: User, org: Organization) -> list[VerificationSample]:
    """After-mode disagreements waiting for the admin."""
    require_role(admin, org, Role.ADMIN)
    return list(
        db.session.scalars(
            select(VerificationSample)
            .where(
                VerificationSample.organization_id == org.id,
                VerificationSample.state == SampleState.CASE_OPEN,
            )
            .order_by(VerificationSample.created_at)
        )
    )


def close_case(
    admin: User, org: Organization, sample_public_id: str, remark: str, *, revoke: bool = False
) -> VerificationSample:
    """The admin closes an after-mode case: either the decision stands (the admin sides with
    the assessor), or its badge is revoked with a reason the earner and verifiers will see."""
    require_role(admin, org, Role.ADMIN)
    sample = db.session.scalar(
        select(VerificationSample).where(
            VerificationSample.public_id == sample_public_id,
            VerificationSample.organization_id == org.id,
        )
    )
    if sample is None:
        raise NotFound("No such case.")
    text = clean_text(remark, 2000)
    if revoke and not text:
        raise DomainError("Give the reason for revoking the badge; the earner will see it.")
    if revoke and sample.outcome != "pass":
        raise DomainError("This decision issued no badge: there is nothing to revoke.")
    if sample.submission.learner_id == admin.id:
        raise Forbidden("You cannot close a case on your own work.")
    result = db.session.execute(
        update(VerificationSample)
        .where(
            VerificationSample.id == sample.id,
            VerificationSample.state == SampleState.CASE_OPEN,
        )
        .values(state=SampleState.CASE_CLOSED)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise Conflict("This case is already closed.")
    db.session.expire(sample)
    audit.record(
        "verification.case_close",
        actor_id=admin.id,
        organization_id=org.id,
        subject_type="submission",
        subject_id=sample.submission.public_id,
        sample=sample.public_id,
        resolution="revoked" if revoke else "kept",
        remark=text,
    )
    if revoke:
        case_revoked.send(
            current_app._get_current_object(),  # type: ignore[attr-defined]
            submission=sample.submission,
            actor=admin,
            reason=text,
        )
    return sample
