"""Where the upload page sends the worker back to: the submission element that sent them, so a
new file ends up attached where it was needed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from portfolio.core.security import is_safe_redirect

#: The submission page, the only place that sends workers here to attach what they upload.
_SUBMISSION = re.compile(r"^/submissions/[A-Za-z0-9_-]{8,64}$")
_ELEMENT = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


@dataclass(frozen=True)
class ReturnTo:
    """A same-site page to go back to, and the element to attach new uploads to."""

    url: str
    label: str
    element: str | None = None

    @property
    def attach_url(self) -> str | None:
        """Where the widget posts each new item (the submission's attach action)."""
        return f"{self.url}/evidence" if self.element else None

    def after_upload(self, item_public_id: str) -> str:
        """The page to show after a plain-form upload: the element, with the new item chosen."""
        if not self.element:
            return self.url
        query = urlencode({"attach": item_public_id, "element": self.element})
        return f"{self.url}?{query}#element-{self.element}"


def return_target(next_url: str | None, element: str | None) -> ReturnTo | None:
    """The return target named by `next` (and `element`), or None if it is not one of ours."""
    if not next_url or not is_safe_redirect(next_url) or not next_url.startswith("/"):
        return None
    if _SUBMISSION.match(next_url):
        el = element if element and _ELEMENT.match(element) else None
        return ReturnTo(next_url, "your submission", el)
    return ReturnTo(next_url, "where you were")
