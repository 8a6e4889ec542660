"""leadrelay's intake service: the Flask application factory."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask

from service import browser, logs, problems
from service.runtime import Runtime
from service.settings import Settings


def create_app(config: Mapping[str, object] | None = None) -> Flask:
    """Create the intake app; `config` overrides settings by name (tests pass it instead of the env)."""
    settings = Settings.load(config)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    rt = Runtime.start(settings)
    logs.configure(rt.secrets())
    app.extensions["leadrelay"] = rt
    logs.init_app(app)
    problems.init_app(app)
    browser.init_cors(app, rt.sources)

    from service import console
    from service.views import admin, callbell_events, health, intake

    console.init_app(
        app, settings.admin_token, settings.console_password, settings.public_url.startswith("https")
    )
    app.register_blueprint(health.bp)
    app.register_blueprint(intake.bp)
    app.register_blueprint(admin.bp)
    callbell_events.init_app(app, settings.callbell_webhook_path)
    return app
