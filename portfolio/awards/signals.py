"""Events of the awards domain for the domains above it (pathways), so that awards never import
them. Receivers are connected in `create_app` (through each domain's `init_app`)."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: Sent inside the transaction that issues an award, with `award`; what receivers write
#: commits (or rolls back) with the award.
award_issued = _signals.signal("award-issued")
#: Sent inside the transaction that revokes an award, with `award` and the `reason`.
award_revoked = _signals.signal("award-revoked")
#: Sent while a learner record (CLR) is assembled, with `awards` (the learner's awards in it);
#: each receiver returns `PathwayLink`s (portfolio.awards.ob.clr) relating their achievements.
learner_record_links = _signals.signal("learner-record-links")
