"""Helpers of the marking-workflow tests: people in every role, settings, and steps done through
the services as the pages do them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from portfolio.accounts.models import Role, User
from portfolio.awards.models import Award
from portfolio.extensions import db
from portfolio.submissions import access, assessor_queue, marking_plans, scoring, services
from portfolio.submissions.models import MarkingMode, Review, Submission, VerificationMode
from tests.submissions.conftest import Scenario

MAPPING = [("photo", 0), ("pdf", 1), ("text", 2), ("link", 3)]
PASS = ["Meets", "Exceeds", "Meets", "Not yet"]
PASS_OTHER = ["Meets", "Meets", "Meets", "Not yet"]  # same outcome, one level differs
FAIL = ["Not yet", "Meets", "Meets", "Not yet"]


@dataclass
class People:
    moderator: User
    moderator2: User
    verifier: User
    verifier2: User
    assessor3: User


def add_people(make: Any, s: Scenario) -> People:
    return People(
        moderator=make.user((s.org, Role.MODERATOR), email="mo@example.org", name="Mo Moderator"),
        moderator2=make.user((s.org, Role.MODERATOR), email="max@example.org", name="Max Mod"),
        verifier=make.user(
            (s.org, Role.INTERNAL_VERIFIER), email="vera@example.org", name="Vera Verifier"
        ),
        verifier2=make.user(
            (s.org, Role.INTERNAL_VERIFIER), email="vic@example.org", name="Vic Verifier"
        ),
        assessor3=make.user((s.org, Role.ASSESSOR), email="ali@example.org", name="Ali Assessor"),
    )


def configure(app: Flask, s: Scenario, **values: Any) -> None:
    with app.test_request_context():
        marking_plans.save_settings(
            s.admin, s.org, s.credential.id, marking_plans.SettingsInput(**values)
        )
        db.session.commit()


DOUBLE_BLIND_HOLD = {
    "mode": MarkingMode.DOUBLE,
    "is_blind": True,
    "iqa_rate": 100,
    "iqa_mode": VerificationMode.HOLD,
}


def submitted(app: Flask, s: Scenario) -> str:
    """A submission of the worker, mapped and submitted; its public id."""
    with app.test_request_context():
        sub = services.start_submission(s.worker, s.credential)
        db.session.flush()
        for key, idx in MAPPING:
            services.attach_evidence(
                s.worker, sub, s.elements[idx].public_id, s.items[key].public_id, f"{key} note"
            )
        services.submit(s.worker, sub)
        db.session.commit()
        return sub.public_id


def inputs(s: Scenario, levels: list[str], remark: str = "ok") -> list[scoring.ScoreInput]:
    return [
        scoring.ScoreInput(e.public_id, s.level(name).id, f"{remark}: {e.title}")
        for e, name in zip(s.elements, levels, strict=True)
    ]


def sub_of(pid: str) -> Submission:
    db.session.expire_all()
    return access.get_submission(pid)


def mark(app: Flask, s: Scenario, who: User, pid: str, levels: list[str]) -> Any:
    """Record one marking (claiming first on single-marked credentials)."""
    with app.test_request_context():
        user = db.session.get(User, who.id)
        assert user is not None
        sub = access.get_submission(pid)
        if marking_plans.plan_for(sub).mode == MarkingMode.SINGLE:
            assessor_queue.claim(user, s.org, sub)
            sub = access.get_submission(pid)
        result = scoring.record_review(user, s.org, sub, inputs(s, levels), "Feedback")
        db.session.commit()
        return result


def counts(pid: str) -> tuple[int, int]:
    """(decisions, awards) of a submission."""
    db.session.expire_all()
    sub = access.get_submission(pid)
    reviews = db.session.scalar(select(func.count(Review.id)).where(Review.submission_id == sub.id))
    awards = db.session.scalar(select(func.count(Award.id)).where(Award.submission_id == sub.id))
    return reviews or 0, awards or 0


def signed_in(app: Flask, email: str) -> Any:
    """A fresh browser-like client signed in as `email`."""
    from tests.conftest import Client

    app.test_client_class = Client
    client = app.test_client()
    client.login(email)  # type: ignore[attr-defined]
    return client
