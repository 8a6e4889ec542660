"""The OpenAPI 3 document, generated with apispec from the marshmallow schemas the API uses."""

from __future__ import annotations

from functools import cache
from importlib.metadata import version
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from service import api_schemas as s


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": "Problem"}}}


def _json(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ADMIN = [{"adminToken": []}]
UNAUTHORIZED = _problem("missing or wrong admin token")
LEAD_ID = {"name": "lead_id", "in": "path", "required": True, "schema": {"type": "string"}}


@cache
def document(callbell_path: str = "/v1/callbell/events") -> dict[str, Any]:
    """Build the whole document once per process (Callbell's webhooks at the path configured)."""
    spec = APISpec(
        title="leadrelay",
        version=version("leadrelay"),
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "Turns leads from forms and lead sources into Callbell contacts."},
    )
    for name in (
        "Erasure",
        "Erased",
        "Problem",
        "Accepted",
        "MetaAccepted",
        "ContactRequest",
        "Lead",
        "DeadLetterList",
        "DeadLetterFilter",
        "ReplayResult",
        "ReplayMany",
    ):
        spec.components.schema(name, schema=getattr(s, f"{name}Schema"))
    spec.components.security_scheme("adminToken", {"type": "http", "scheme": "bearer"})
    spec.components.security_scheme("apiKey", {"type": "apiKey", "in": "header", "name": "X-Api-Key"})
    lead_body = {
        "type": "object",
        "additionalProperties": True,
        "description": "the sender's payload; its shape depends on the source's preset",
    }
    spec.path(
        path="/v1/leads/{source}",
        operations={
            "post": {
                "summary": "Post a lead from a configured source",
                "parameters": [
                    {"name": "source", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}},
                ],
                "security": [{}, {"apiKey": []}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": lead_body},
                        "application/x-www-form-urlencoded": {"schema": lead_body},
                        "multipart/form-data": {"schema": lead_body},
                    },
                },
                "responses": {
                    "202": _json("stored and queued for delivery", "Accepted"),
                    "200": {
                        "description": "a duplicate (the original lead), or a Meta notification",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "oneOf": [
                                        {"$ref": "#/components/schemas/Accepted"},
                                        {"$ref": "#/components/schemas/MetaAccepted"},
                                    ]
                                }
                            }
                        },
                    },
                    "303": {"description": "browser form: redirect to the source's page"},
                    "400": _problem("the body cannot be decoded"),
                    "401": _problem("the sender could not be verified; nothing stored"),
                    "404": _problem("unknown source"),
                    "413": _problem("body too large"),
                    "415": _problem("unsupported content type or charset"),
                    "422": _problem("invalid lead, kept as a rejected dead letter"),
                    "503": _problem("storage unavailable; nothing stored, retry after Retry-After"),
                },
            },
            "get": {
                "summary": "Show a lead (admin), or answer Meta's subscription check (hub.* parameters)",
                "parameters": [
                    {
                        "name": "source",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                        "description": "a lead id, or a meta_lead_ads source name",
                    }
                ],
                "security": ADMIN,
                "responses": {
                    "200": _json("the lead", "Lead"),
                    "401": UNAUTHORIZED,
                    "404": _problem("no such lead"),
                },
            },
            "delete": {
                "summary": "Delete a lead for good (purge a dead letter)",
                "security": ADMIN,
                "parameters": [
                    {
                        "name": "source",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                        "description": "the lead id",
                    }
                ],
                "responses": {
                    "204": {"description": "deleted"},
                    "401": UNAUTHORIZED,
                    "404": _problem("no such lead"),
                },
            },
        },
    )
    spec.path(
        path="/v1/leads/{lead_id}/replay",
        operations={
            "post": {
                "summary": "Replay a dead letter with the current sources file",
                "security": ADMIN,
                "parameters": [LEAD_ID],
                "responses": {
                    "202": _json("queued again", "ReplayResult"),
                    "401": UNAUTHORIZED,
                    "404": _problem("no such lead"),
                    "409": _problem("not a dead letter"),
                    "422": _problem("still invalid"),
                },
            }
        },
    )
    spec.path(
        path="/v1/dead-letters",
        operations={
            "get": {
                "summary": "List dead letters, newest first",
                "security": ADMIN,
                "parameters": [
                    {"name": n, "in": "query", "schema": {"type": "string"}}
                    for n in ("source", "status", "since", "limit")
                ],
                "responses": {
                    "200": _json("dead letters", "DeadLetterList"),
                    "400": _problem("bad filter"),
                    "401": UNAUTHORIZED,
                },
            }
        },
    )
    spec.path(
        path="/v1/dead-letters/replay",
        operations={
            "post": {
                "summary": "Replay every dead letter matching the filters",
                "security": ADMIN,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": "DeadLetterFilter"}},
                },
                "responses": {
                    "200": _json("what was replayed", "ReplayMany"),
                    "400": _problem("bad filter"),
                    "401": UNAUTHORIZED,
                },
            }
        },
    )
    spec.path(
        path="/v1/erasures",
        operations={
            "post": {
                "summary": "Erase a person: delete every lead that holds their phone or email",
                "security": ADMIN,
                "requestBody": {"required": True, "content": {"application/json": {"schema": "Erasure"}}},
                "responses": {
                    "200": _json("the erased leads", "Erased"),
                    "400": _problem("neither a phone nor an email"),
                    "401": UNAUTHORIZED,
                    "422": _problem("the phone is not valid"),
                },
            }
        },
    )
    spec.path(
        path=callbell_path,
        operations={
            "post": {
                "summary": "Callbell's own webhooks: a welcome message's status (message_status_updated)",
                "description": "Signed by Callbell: X-Callbell-Signature t=<unix s>,v1=<hex HMAC-SHA256 "
                "of 't.body'> with CALLBELL_WEBHOOK_SECRET; off (404) without that secret.",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "responses": {
                    "200": {"description": "received; `recorded` says whether a lead's welcome was updated"},
                    "400": _problem("not a JSON object"),
                    "401": _problem("missing, wrong or expired signature"),
                    "404": _problem("Callbell webhooks are off"),
                },
            }
        },
    )
    for path, summary in (("/healthz", "The process is alive"), ("/readyz", "Redis answers")):
        spec.path(
            path=path,
            operations={
                "get": {
                    "summary": summary,
                    "responses": {
                        "200": {"description": "ok"},
                        **({"503": _problem("not ready")} if path == "/readyz" else {}),
                    },
                }
            },
        )
    spec.path(
        path="/metrics",
        operations={
            "get": {
                "summary": "Prometheus metrics",
                "responses": {
                    "200": {
                        "description": "text exposition format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
    )
    spec.path(
        path="/openapi.json",
        operations={
            "get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3 document"}}}
        },
    )
    return spec.to_dict()
