"""WSGI entry point: `gunicorn wsgi:app`. Settings come from the environment (see README)."""

from portfolio import create_app

app = create_app()
