"""Profile one endpoint in-process with pyinstrument (when a target of bench/run.py is missed).

Runs the production app (settings from the environment, as bench/run.py sets them) through
Flask's test client against an existing benchmark database, requesting PATH (with "{id}"
replaced by random award ids from the database) REQUESTS times, and prints the profile.

    DATABASE_URL=... APP_ENV=production SECRET_KEY=... SIGNING_KEY_SECRET=... \\
        .venv/bin/python bench/profile.py "/badges/{id}/assertion.json" [--requests 500]
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).absolute().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--accept", default="")
    parser.add_argument("--cookie", default="", help="a Cookie header (pages behind a login)")
    args = parser.parse_args()

    from pyinstrument import Profiler
    from sqlalchemy import select

    from portfolio import create_app
    from portfolio.awards.models import Award
    from portfolio.extensions import db

    app = create_app()
    with app.app_context():
        ids = list(db.session.scalars(select(Award.public_id).limit(20_000)))
    client = app.test_client()
    headers = {"Accept": args.accept} if args.accept else {}
    if args.cookie:
        headers["Cookie"] = args.cookie
    for _ in range(20):  # warm up: imports, template compilation, connection pool
        client.get(args.path.replace("{id}", random.choice(ids)), headers=headers)  # noqa: S311
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(args.requests):
        resp = client.get(args.path.replace("{id}", random.choice(ids)), headers=headers)  # noqa: S311
        assert resp.status_code == 200, resp.status_code
    profiler.stop()
    print(profiler.output_text(unicode=True, color=False, show_all=False))


if __name__ == "__main__":
    main()
