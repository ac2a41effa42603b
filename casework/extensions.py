"""Flask extensions, created unbound and initialised by the app factory."""

from flask import Flask, current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from casework.orm import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def current_app_object() -> Flask:
    """The app behind the current_app proxy: to keep, hand to a thread or compare by identity."""
    # Flask types current_app as the Flask it stands for, so the proxy's own method is unknown.
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    return app
