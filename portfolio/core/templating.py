"""Template helpers available on every page."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask


def init_templating(app: Flask) -> None:
    """Register filters and the navigation context."""

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
