"""The operator console under /console: server-rendered pages, signed in with the admin token.

Security: a signed, HttpOnly, SameSite=Strict session cookie (Secure behind HTTPS) that expires;
failed sign-ins limited per address; Flask-WTF's CSRF protection on every form; a
Content-Security-Policy without inline script, no framing, and no caching of pages that show
personal data. The console is off when no admin token or console password is configured.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from flask import Flask, Request, Response
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect

SESSION_HOURS = 8
csrf = CSRFProtect()
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class ConsoleSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with no signer built for a request that brings no cookie.

    Every API request (intake, webhooks) brings none: Flask would build the signer anyway, a few
    per cent of intake's CPU.
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)


def init_app(app: Flask, admin_token: str, console_password: str, https: bool) -> None:
    """Attach the console, its session settings and its CSRF protection (the API keeps no cookies)."""
    from service.console.views import bp

    credential = console_password or admin_token
    # The session key follows the credential: every process derives the same one, and changing
    # the credential signs everybody out.
    app.secret_key = hmac.new(credential.encode(), b"leadrelay console session", hashlib.sha256).digest()
    app.config.update(
        SESSION_COOKIE_NAME="leadrelay_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=https,
        SESSION_COOKIE_PATH="/console",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
        WTF_CSRF_CHECK_DEFAULT=False,  # only the console's forms; the API authenticates by header
        WTF_CSRF_TIME_LIMIT=SESSION_HOURS * 3600,
    )
    app.session_interface = ConsoleSessions()
    csrf.init_app(app)
    app.register_blueprint(bp)


def secure(response: Response) -> Response:
    """Add the console's security headers to a response."""
    response.headers.update(SECURITY_HEADERS)
    return response
