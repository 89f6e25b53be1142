"""Template helpers available on every page."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask


def init_templating(app: Flask) -> None:
    """Register filters and the navigation context."""
    from portfolio.core import labels
    from portfolio.core.urls import http_url_or_empty, public_url

    app.jinja_env.globals["public_url"] = public_url
    app.jinja_env.globals["PERSON"] = labels.PERSON
    app.jinja_env.filters["label"] = labels.label
    app.jinja_env.filters["action_label"] = labels.action_label
    app.jinja_env.filters["type_label"] = labels.type_label
    # `href="{{ x|http_url }}"` for every address that came from a person or an import: a
    # `javascript:` or `data:` value written before validation existed never becomes a link.
    app.jinja_env.filters["http_url"] = http_url_or_empty

    @app.template_filter("datetime")
    def format_datetime(value: datetime | None, fmt: str = "%d %b %Y %H:%M UTC") -> str:
        if value is None:
            return ""
        return value.astimezone(UTC).strftime(fmt)

    @app.template_filter("date")
    def format_date(value: datetime | None) -> str:
        if value is None:
            return ""
        return value.strftime("%d %b %Y")

    @app.template_filter("waiting")
    def format_waiting(value: datetime | None) -> str:
        """How long ago, in words: "3 days", "5 hours", "12 minutes"."""
        if value is None:
            return ""
        seconds = max(0, int((datetime.now(UTC) - value).total_seconds()))
        for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
            if seconds >= size:
                n = seconds // size
                return f"{n} {unit}{'s' if n != 1 else ''}"
        return "just now"
