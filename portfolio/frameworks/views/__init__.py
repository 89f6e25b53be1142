"""The frameworks blueprint: admin pages for frameworks, competencies and rubrics, their imports
and exports, and the public framework pages. Each page group lives in its own module here; all
register on the one `bp`."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("frameworks", __name__)

# The page modules register their routes on `bp`, so they are imported after it exists.
from portfolio.frameworks.views import (  # noqa: E402
    frameworks,  # noqa: F401
    imports,  # noqa: F401
    public,  # noqa: F401
    rubrics,  # noqa: F401
)
