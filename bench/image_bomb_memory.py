"""Peak memory while three workers upload a 13,000 by 13,000 PNG at the same time.

    .venv/bin/python bench/image_bomb_memory.py

Runs the app in process (SQLite, local storage, the streaming upload form) and prints the peak
resident set size before and after the three uploads. Each bomb is a 164 KB file that would
decode to 169 MB of pixels; the pixel budget refuses it from its header.
"""

from __future__ import annotations

import io
import resource
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portfolio import create_app  # noqa: E402
from portfolio.accounts.models import Role  # noqa: E402
from portfolio.extensions import db  # noqa: E402
from tests.conftest import Client, Factory, make_config, reset_database  # noqa: E402
from tests.evidence.conftest import upload  # noqa: E402
from tests.security.test_image_bombs import png_bomb  # noqa: E402


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bomb-bench."))
    app = create_app(make_config(work, f"sqlite:///{work / 'db.sqlite'}"))
    reset_database(app)
    app.test_client_class = Client
    bomb = png_bomb(13_000)
    clients = []
    with app.app_context():
        make = Factory()
        org = make.org("Bench")
        for n in range(3):
            user = make.user((org, Role.LEARNER), email=f"w{n}@example.org")
            client = app.test_client()
            client.login(user.email)  # type: ignore[attr-defined]
            clients.append(client)
    before = peak_mib()
    statuses: list[int] = []

    def send(client: Client) -> None:
        resp = upload(client, "site.png", io.BytesIO(bomb).getvalue(), title="Bomb")
        statuses.append(resp.status_code)

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    after = peak_mib()
    with app.app_context():
        db.engine.dispose()
    print(f"bomb file: {len(bomb) / 1024:.0f} KB, 13,000 x 13,000 pixels")
    print(f"statuses: {sorted(statuses)}")
    print(f"peak RSS before: {before:.0f} MiB, after three uploads: {after:.0f} MiB "
          f"(+{after - before:.0f} MiB)")


if __name__ == "__main__":
    main()
