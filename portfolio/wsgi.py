"""WSGI entry point of an installed package: `gunicorn portfolio.wsgi:app`,
`FLASK_APP=portfolio.wsgi flask db upgrade`. Settings come from the environment (see README)."""

from portfolio import create_app

app = create_app()
