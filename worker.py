"""The background worker: an RQ worker with RQ's scheduler on Casework's queues.

python worker.py            work until stopped
python worker.py --burst    process what is queued, then exit
"""

from __future__ import annotations

import argparse
import logging
import sys

from redis.exceptions import RedisError
from rq import Worker

from casework.extensions import db
from casework.jobs import QUEUE_LETTERS, QUEUES, get_queue, redis_connection
from casework.wsgi import create_app_or_exit

log = logging.getLogger("casework.worker")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a Casework background worker.")
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    parser.add_argument(
        "--queues", nargs="+", default=list(QUEUES), choices=list(QUEUES), metavar="QUEUE"
    )
    parser.add_argument("--name", default=None, help="worker name (default: RQ's own)")
    args = parser.parse_args(argv)

    app = create_app_or_exit()
    with app.app_context():
        connection = redis_connection(app)
        try:
            connection.ping()
        except RedisError as exc:
            print(
                f"casework: worker cannot start: Redis at {app.config['REDIS_URL']} is "
                f"unreachable ({type(exc).__name__}); deadline tracking is paused.",
                file=sys.stderr,
            )
            return 2
        if QUEUE_LETTERS in args.queues:
            # Each job runs in a fork of this process: warm the letter renderer once here.
            from casework.notices.rendering import warm_up

            warm_up()
        # Jobs run in forks of this process: a pooled connection opened here (the start-up
        # check) would be shared by every fork and corrupt each other's sessions.
        db.engine.dispose()
        queues = [get_queue(name, app) for name in args.queues]
        worker = Worker(queues, connection=connection, name=args.name)
        log.info("worker %s listening on %s", worker.name, ", ".join(args.queues))
        worker.work(with_scheduler=True, burst=args.burst, logging_level="INFO")
    return 0


if __name__ == "__main__":
    sys.exit(main())
