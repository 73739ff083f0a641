"""The app's page blueprints, registered in one place so that ``app.py`` imports no view.

The password gate (``access``) is set up by ``create_app`` itself, before CSRF protection.
"""

from __future__ import annotations

from flask import Flask

from playground import compare, gallery, history, picker, presenter, recordings, views


def register(app: Flask) -> None:
    app.register_blueprint(views.bp)
    app.register_blueprint(history.bp)
    app.register_blueprint(picker.bp)
    app.register_blueprint(gallery.bp)
    app.register_blueprint(recordings.bp)
    app.register_blueprint(presenter.bp)
    app.register_blueprint(compare.bp)
