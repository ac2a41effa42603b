"""Run in a fresh Python process: send image files through the real report form, print peak memory.

Usage: python -m tests.upload_memory_probe WORKDIR TOGETHER FILE...

The app runs on SQLite under WORKDIR. After warm-up uploads of a small picture (so
every module is imported and every cache filled), the process's peak resident size is
reset to its current size; then each FILE is posted to /report/screenshots in turn,
and finally TOGETHER is posted by four visitors at the same moment, as gunicorn's
threads would receive them. It prints one JSON object: the resident size before the
files and the peak after them (KiB), and the status of each response.
"""

from __future__ import annotations

import io
import json
import re
import sys
import threading
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from casework import create_app
from casework.extensions import db
from tests import factories
from tests.conftest import base_config
from tests.intake_support import Answers, fill_report, photo

VISITORS_AT_ONCE = 4


def status_kib(field: str) -> int:
    match = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    assert match, field
    return int(match.group(1))


def reset_peak() -> int:
    """Forget the peak so far (Linux: clear_refs 5) and return the current resident size."""
    Path("/proc/self/clear_refs").write_text("5")
    return status_kib("VmRSS")


def post(client: FlaskClient, name: str, data: bytes) -> int:
    form = {"screenshots": [(io.BytesIO(data), name)], "action": "continue"}
    response = client.post("/report/screenshots", data=form, content_type="multipart/form-data")
    return response.status_code


def visitor(app: Flask) -> FlaskClient:
    """A visitor with a report under way, who has already sent one small picture."""
    client = app.test_client()
    fill_report(client, Answers(screenshots=[("warm-up.jpg", photo())]))
    post(client, "warm-up-2.jpg", photo(2))
    return client


def post_together(app: Flask, clients: list[FlaskClient], name: str, data: bytes) -> list[int]:
    statuses: list[int] = []
    start = threading.Barrier(len(clients))

    def send(client: FlaskClient) -> None:
        with app.app_context():
            start.wait()
            statuses.append(post(client, name, data))

    threads = [threading.Thread(target=send, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def main(workdir: Path, together: Path, paths: list[Path]) -> None:
    config = base_config("sqlite:///" + str(workdir / "casework.db"), workdir)
    app = create_app(config, instance_path=str(workdir / "instance"))
    with app.app_context():
        upgrade()
        factories.org(receives_public_reports=True)
        db.session.commit()
        clients = [visitor(app) for _ in range(VISITORS_AT_ONCE)]
        db.session.remove()

        before = reset_peak()
        statuses = [post(clients[0], path.name, path.read_bytes()) for path in paths]
        statuses += post_together(app, clients, together.name, together.read_bytes())
        peak = status_kib("VmHWM")
        print(json.dumps({"before": before, "after": peak, "statuses": statuses}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), [Path(p) for p in sys.argv[3:]])
