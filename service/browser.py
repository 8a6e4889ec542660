"""What plain HTML forms in browsers need: redirects after posting, CORS for fetch(), a honeypot."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import Flask, Request, Response, redirect
from flask_cors import CORS

from service.bodies import FORM_TYPES, media_type
from service.presets.answers import is_blank
from service.sources import Source


def wants_redirect(source: Source, request: Request) -> bool:
    """True for a browser form post (form body, HTML accepted) to a source with `redirect_url`."""
    return (
        bool(source.redirect_url)
        and media_type(request.content_type or "") in FORM_TYPES
        and (request.accept_mimetypes.accept_html)
    )


def see_other(url: str, **params: str) -> Response:
    """303 See Other to `url`, with `params` added to its query string."""
    if params:
        parts = urlsplit(url)
        query = "&".join(p for p in (parts.query, urlencode(params)) if p)
        url = urlunsplit(parts._replace(query=query))
    return redirect(url, code=303)


def caught_by_honeypot(source: Source, payload: dict[str, Any]) -> bool:
    """True when the source's hidden honeypot field was filled in (people leave it empty, bots do not)."""
    return bool(source.honeypot) and not is_blank(payload.get(source.honeypot))


def init_cors(app: Flask, sources: dict[str, Source]) -> None:
    """Allow pages on each source's `allowed_origins` to post leads with fetch()."""
    resources = {
        f"/v1/leads/{s.name}": {"origins": list(s.allowed_origins)}
        for s in sources.values()
        if s.allowed_origins
    }
    if resources:
        CORS(
            app,
            resources=resources,
            methods=["POST", "OPTIONS"],
            allow_headers=["Content-Type", "Idempotency-Key", "X-Api-Key", "Authorization"],
        )
