"""Marshmallow schemas of the HTTP API's answers and admin request bodies (also the OpenAPI source)."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from service.contact_fields import SENT, document_field
from service.keys import DEAD_STATUSES, STATUSES, WELCOME_STATES


class FieldErrorSchema(Schema):
    field = fields.String(required=True, metadata={"description": "dotted path of the field"})
    reason = fields.String(required=True)


class ProblemSchema(Schema):
    """RFC 9457 problem details, with the fields of an invalid lead."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.List(fields.Nested(FieldErrorSchema))
    lead_id = fields.String(metadata={"description": "the rejected lead kept as a dead letter"})


class AcceptedSchema(Schema):
    lead_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    duplicate = fields.Boolean(metadata={"description": "present (true) when this lead was received before"})


class MetaLeadSchema(AcceptedSchema):
    leadgen_id = fields.String(required=True)


class MetaAcceptedSchema(Schema):
    leads = fields.List(fields.Nested(MetaLeadSchema), required=True)


ContactRequestSchema = Schema.from_dict(
    {f.name: document_field(f) for f in SENT}, name="ContactRequestSchema"
)  # the Callbell `POST /contacts` body built from a lead


class AttemptSchema(Schema):
    """One request to Callbell (or the Graph API) made while delivering a lead."""

    at = fields.Float(metadata={"description": "Unix time"})
    attempt = fields.Integer()
    request = fields.String(
        validate=validate.OneOf(["lookup", "create", "update", "graph_fetch", "team_members", "welcome"])
    )
    status = fields.Integer(allow_none=True, metadata={"description": "null when no answer came"})
    duration_ms = fields.Float()
    error = fields.String()
    body = fields.String(metadata={"description": "the first 500 characters of a failed answer"})
    rate_limit_wait_ms = fields.Float()


class LeadSchema(Schema):
    """A lead record as operators see it."""

    id = fields.String(required=True)
    source = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    received_at = fields.String(required=True, metadata={"format": "date-time"})
    updated_at = fields.String(metadata={"format": "date-time"})
    delivered_at = fields.String(metadata={"format": "date-time"})
    dead_at = fields.String(metadata={"format": "date-time"})
    next_attempt_at = fields.String(metadata={"format": "date-time"})
    contact = fields.Nested(ContactRequestSchema, allow_none=True)
    contact_uuid = fields.String()
    attempt_count = fields.Integer()
    attempts = fields.List(fields.Nested(AttemptSchema))
    reason = fields.String()
    errors = fields.Dict()
    payload = fields.String(metadata={"description": "the raw body as received (secrets removed)"})
    content_type = fields.String()
    delivery_mode = fields.String()
    job_id = fields.String()
    fetched = fields.Dict(metadata={"description": "a Meta lead as fetched from the Graph API"})
    contact_created = fields.Function(
        lambda r: bool(r.get("contact_created")), metadata={"description": "the delivery created the contact"}
    )
    assigned_user = fields.String(metadata={"description": "the agent the contact has after delivery"})
    welcome = fields.String(
        validate=validate.OneOf(WELCOME_STATES),
        metadata={"description": "the welcome message: due, sending, accepted, unknown, failed, skipped"},
    )
    welcome_reason = fields.String()
    welcome_uuid = fields.String(metadata={"description": "Callbell's uuid of the welcome message"})
    welcome_at = fields.String(metadata={"format": "date-time"})
    welcome_status = fields.String(
        metadata={"description": "the message's status as Callbell last reported it by webhook"}
    )
    welcome_status_at = fields.String(metadata={"format": "date-time"})


class DeadLetterSchema(Schema):
    id = fields.String(required=True)
    source = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(DEAD_STATUSES))
    received_at = fields.String(metadata={"format": "date-time"})
    dead_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    attempts = fields.Integer()
    reason = fields.String()


class DeadLetterListSchema(Schema):
    dead_letters = fields.List(fields.Nested(DeadLetterSchema), required=True)
    count = fields.Integer(required=True)


class DeadLetterFilterSchema(Schema):
    """Which dead letters a replay applies to; `{}` means all."""

    class Meta:
        unknown = RAISE

    source = fields.String()
    status = fields.String(validate=validate.OneOf(DEAD_STATUSES))
    since = fields.String(metadata={"description": "ISO 8601 time, or a duration ago such as 2h"})


class ReplayResultSchema(Schema):
    lead_id = fields.String(required=True)
    replayed = fields.Boolean(required=True)
    status = fields.String(required=True)
    reason = fields.String()
    errors = fields.Dict()


class ReplayManySchema(Schema):
    replayed = fields.Integer(required=True)
    not_replayed = fields.Integer(required=True)
    results = fields.List(fields.Nested(ReplayResultSchema), required=True)


class ErasureSchema(Schema):
    """Whose data to erase: a phone (written any way), an email, or both."""

    phone = fields.String()
    email = fields.String()


class ErasedSchema(Schema):
    """What an erasure deleted."""

    erased = fields.Integer(required=True)
    lead_ids = fields.List(fields.String(), required=True)
