"""Markdown is cleaned on write; names lose control and bidi characters."""

from html.parser import HTMLParser

from portfolio.core.sanitize import clean_text, render_markdown


def _tags(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """Every element of `html` with its attributes, as a browser's parser sees them."""
    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, attrs))

    Collect().feed(html)
    return found


def test_markdown_keeps_formatting_and_drops_active_content() -> None:
    html = render_markdown(
        "**Weld** done\n\n<script>alert(1)</script>\n\n[click](javascript:alert(1)) "
        '<img src=x onerror="alert(1)"> [ok](https://example.org)'
    )
    assert "<strong>Weld</strong>" in html
    # Raw HTML is shown as text, never as elements: no script, no image, no event handler.
    tags = _tags(html)
    assert {name for name, _ in tags} <= {"p", "strong", "a"}
    assert not [a for _, attrs in tags for a, _ in attrs if a.startswith("on")]
    assert "&lt;script&gt;" in html
    assert 'href="javascript' not in html
    assert 'href="https://example.org"' in html
    assert 'rel="nofollow noopener noreferrer"' in html


def test_clean_text_removes_controls_and_bidi_overrides() -> None:
    assert clean_text("evil\u202egpj.exe\x00\n name ", 100) == "evilgpj.exe name"
    assert len(clean_text("x" * 1000, 255)) == 255
