"""The submissions domain's tables, one module per part of the assessment.

Modules: `submission` (a submission, its states and the evidence mapped to each rubric
element), `reviews` (the decision of each marking round and its scores), `marking` (marking
plans, assigned assessors, markings, moderation and verification samples), `appeals` (appeals
and extra attempts), `witness` (witness testimonies) and `notifications` (in-app messages).

Every model class is imported here, with the enums and constants that go with it, so that
importing this package registers every table with the metadata before the mappers configure
(their relationships name each other by string, across modules), and so that
`from portfolio.submissions.models import X` works for each of them.
"""

from portfolio.submissions.models.appeals import Appeal, AppealState, AttemptGrant
from portfolio.submissions.models.marking import (
    AssessorAssignment,
    Marking,
    MarkingMode,
    MarkingPlanVersion,
    MarkingScore,
    MarkingSettings,
    MarkingStage,
    SampleState,
    VerificationMode,
    VerificationSample,
    WaitingFor,
)
from portfolio.submissions.models.notifications import Notification
from portfolio.submissions.models.reviews import Review, ReviewOutcome, Score
from portfolio.submissions.models.submission import (
    DECIDED_STATES,
    EDITABLE_STATES,
    WAITING_SQL,
    Submission,
    SubmissionEvidence,
    SubmissionState,
)
from portfolio.submissions.models.witness import WitnessState, WitnessTestimony

__all__ = [
    "DECIDED_STATES",
    "EDITABLE_STATES",
    "WAITING_SQL",
    "Appeal",
    "AppealState",
    "AssessorAssignment",
    "AttemptGrant",
    "Marking",
    "MarkingMode",
    "MarkingPlanVersion",
    "MarkingScore",
    "MarkingSettings",
    "MarkingStage",
    "Notification",
    "Review",
    "ReviewOutcome",
    "SampleState",
    "Score",
    "Submission",
    "SubmissionEvidence",
    "SubmissionState",
    "VerificationMode",
    "VerificationSample",
    "WaitingFor",
    "WitnessState",
    "WitnessTestimony",
]
