"""The operations of the JSON API, one module per resource group, all on the one blueprint
(`portfolio.api.blueprint.bp`). Each parses its input (schemas), calls the services the pages
call with the token's user as the actor, commits once (`blueprint.commit_use`) and answers with
a schema.

The modules are imported in this order so the OpenAPI document lists the operations as before.
"""

from __future__ import annotations

# The order of the operations in the document, not sorted by name.
# isort: off
from portfolio.api.views import (
    meta,  # noqa: F401
    frameworks,  # noqa: F401
    credentials,  # noqa: F401
    submissions,  # noqa: F401
    awards,  # noqa: F401
    members,  # noqa: F401
    evidence,  # noqa: F401
    reports,  # noqa: F401
)
# isort: on
