"""Simplified Chinese (default) and English via Flask-Babel."""

from __future__ import annotations

from flask import Flask, current_app, session
from flask_babel import Babel


def select_locale() -> str:
    lang = session.get("lang")
    if lang in current_app.config["LANGUAGES"]:
        return lang
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale)

    @app.context_processor
    def _inject_locale():
        return {"current_locale": select_locale()}
