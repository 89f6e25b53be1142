"""Markdown is cleaned on write; names lose control and bidi characters."""

from portfolio.core.sanitize import clean_text, render_markdown


def test_markdown_keeps_formatting_and_drops_active_content() -> None:
    html = render_markdown(
        "**Weld** done\n\n<script>alert(1)</script>\n\n[click](javascript:alert(1)) "
        '<img src=x onerror="alert(1)"> [ok](https://example.org)'
    )
    assert "<strong>Weld</strong>" in html
    assert "<script" not in html and "onerror" not in html and "<img" not in html
    assert "javascript:" not in html
    assert 'href="https://example.org"' in html
    assert 'rel="nofollow noopener noreferrer"' in html


def test_clean_text_removes_controls_and_bidi_overrides() -> None:
    assert clean_text("evil\u202egpj.exe\x00\n name ", 100) == "evilgpj.exe name"
    assert len(clean_text("x" * 1000, 255)) == 255
