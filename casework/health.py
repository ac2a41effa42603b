"""Readiness checks shared by /readyz and `flask casework check`."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from casework.extensions import db
from casework.jobs import redis_connection


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "detail": self.detail}


def check_database(app: Flask) -> Check:
    with app.app_context():
        try:
            db.session.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc
            return Check("database", False, f"unreachable ({type(cause).__name__})")
        finally:
            db.session.remove()
        return Check("database", True, db.engine.dialect.name)


def check_redis(app: Flask) -> Check:
    try:
        redis_connection(app).ping()
    except (RedisError, OSError) as exc:
        return Check(
            "redis",
            False,
            f"unreachable ({type(exc).__name__}); deadline tracking is paused until it is back",
        )
    return Check("redis", True, "reachable")
