"""The Callbell contact's fields, declared once.

The sources file's per-source settings, the contact schema, the `fields` mapping keys, the API
document, the worker's PATCH and the sandbox's accepted parameters all derive from CONTACT_FIELDS:
adding a Callbell field is one line here (plus its test).
"""

from __future__ import annotations

from dataclasses import dataclass

from marshmallow import Schema, fields, validate

# Where a field's value comes from.
BUILT = "built"  # leadrelay computes it (identifier from the phone, name, tags, custom fields)
SOURCE = "source"  # a per-source setting in the sources file (or its [defaults])
ANSWER = "answer"  # one of the lead's answers, found by a preset or named in `fields`
CALLBELL = "callbell"  # Callbell accepts it; leadrelay does not send it

# How an update of an existing contact treats it.
SET = "set"  # sent as is
UNION = "union"  # the existing list plus the new items
MERGE = "merge"  # the existing object updated with the new keys


@dataclass(frozen=True)
class ContactField:
    """One parameter of Callbell's contact requests."""

    name: str
    origin: str
    kind: str = "text"  # "text", "email", "list" (of strings) or "object" (string values)
    required: bool = False  # required by POST /contacts
    create: bool = True  # accepted by POST /contacts
    patch: str | None = None  # accepted by PATCH /contacts/<uuid>, and how: SET, UNION or MERGE
    max_chars: int | None = None  # Callbell's documented limit; longer values are cut
    description: str = ""


CONTACT_FIELDS = (
    ContactField("identifier", BUILT, required=True, description="the phone, digits or E.164"),
    ContactField("source", BUILT, required=True, description="the Callbell channel type, e.g. whatsapp"),
    ContactField("name", BUILT, required=True, patch=SET, description="full, or first and last name"),
    ContactField("tags", BUILT, kind="list", patch=UNION, description="static tags and tag_fields"),
    ContactField(
        "custom_fields", BUILT, kind="object", patch=MERGE, description="custom field name -> value"
    ),
    ContactField("assigned_user", SOURCE, kind="email", patch=SET, description="the agent's email"),
    ContactField("team_uuid", SOURCE, patch=SET, description="the team the contact belongs to"),
    ContactField("channel_uuid", SOURCE, description="the channel (default: the main one)"),
    ContactField("note", ANSWER, patch=SET, max_chars=1000, description="a note on the contact"),
    ContactField("bot_status", CALLBELL, patch=SET),
    ContactField("unassign_user", CALLBELL, create=False, patch=SET),
)

SENT = tuple(f for f in CONTACT_FIELDS if f.origin != CALLBELL)  # what leadrelay may send
SOURCE_SETTINGS = tuple(f for f in CONTACT_FIELDS if f.origin == SOURCE)
ANSWER_FIELDS = tuple(f for f in CONTACT_FIELDS if f.origin == ANSWER)
# Fields an update sends as they are (tags and custom fields are merged with what the contact has).
PATCH_SET = tuple(f.name for f in SENT if f.patch == SET)
# What Callbell accepts, for the sandbox.
CREATE_PARAMETERS = tuple(f.name for f in CONTACT_FIELDS if f.create)
PATCH_PARAMETERS = tuple(f.name for f in CONTACT_FIELDS if f.patch)


def setting_field(spec: ContactField) -> fields.Field:
    """The sources-file field of a per-source setting."""
    return fields.Email() if spec.kind == "email" else fields.String(validate=validate.Length(min=1))


def document_field(spec: ContactField) -> fields.Field:
    """The field of the contact request as the API document shows it."""
    options = {"required": spec.required, "metadata": {"description": spec.description}}
    if spec.kind == "list":
        return fields.List(fields.String(), **options)
    if spec.kind == "object":
        return fields.Dict(keys=fields.String(), values=fields.String(), **options)
    return fields.String(**options)


def settings_schema() -> type[Schema]:
    """A schema of the per-source settings, for the sources file's tables to inherit."""
    return Schema.from_dict({f.name: setting_field(f) for f in SOURCE_SETTINGS}, name="ContactSettings")
