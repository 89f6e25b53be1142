"""Receivers of the awards domain's events; connected by `init_app`."""

from __future__ import annotations

from flask import Flask

from portfolio.awards.signals import award_issued, award_revoked, learner_record_links
from portfolio.awards.signing import register_pathway_documents
from portfolio.pathways.progress import learner_record_pathways
from portfolio.pathways.services import _on_award_issued, _on_award_revoked, stack_documents


def init_app(app: Flask) -> None:
    """An issued award may complete stacks; a revoked one affects the stacks built on it."""
    award_issued.connect(_on_award_issued)
    award_revoked.connect(_on_award_revoked)
    learner_record_links.connect(learner_record_pathways)
    register_pathway_documents(stack_documents)
