"""The verify blueprint: public pages and hosted documents, all read-only and needing no login.

Documents are served from what was stored at issuance (one indexed lookup) and the badge page
from its stored rendering (`portfolio.verify.pages`), each with an ETag and a short max-age
(`pages.MAX_AGE`, 60 s), so a revocation shows everywhere within a minute.

Each group of pages lives in its own module here (`issuers`, `badges`, `checks`, `wallets`,
with `responses` shared by them); all register on the one `bp`.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("verify", __name__)

# The page modules register their routes on `bp`, so they are imported after it exists.
from portfolio.verify.views import (  # noqa: E402
    badges,  # noqa: F401
    checks,  # noqa: F401
    issuers,  # noqa: F401
    wallets,  # noqa: F401
)
