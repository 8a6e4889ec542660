"""The sources file: one table per lead source, validated by a marshmallow schema at start-up."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import phonenumbers
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from service.contact_fields import ANSWER_FIELDS, SOURCE_SETTINGS, settings_schema
from service.errors import ConfigError
from service.followups import Assign, AssignSchema, Welcome, WelcomeSchema, assign_of, welcome_of
from service.presets import PRESETS, Preset
from service.verify import SCHEMES, SCHEMES_WITHOUT_SECRET

# What `fields` may map: the contact fields presets find, and every contact field read from an answer.
CONTACT_KEYS = ("name", "first_name", "last_name", "phone", "email", *(f.name for f in ANSWER_FIELDS))
IDENTIFIER_FORMATS = ("digits", "e164")
DELIVERY_MODES = ("upsert", "create")
REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
TEST_LEAD_ACTIONS = ("skip", "deliver", "tag")
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
# Which process reads the file, and so which secrets it must have (see load_sources).
INTAKE, WORKER, OPERATOR = "intake", "worker", "operator"


class DefaultsSchema(Schema):
    """The `[defaults]` table: values every source inherits unless it sets its own."""

    class Meta:
        unknown = RAISE

    callbell_source = fields.String(validate=validate.Length(min=1))
    default_region = fields.String(
        validate=validate.OneOf(
            REGIONS, error="{input!r} is not a region code; use two letters, e.g. US, GB, BR, DE, IN"
        )
    )
    identifier_format = fields.String(validate=validate.OneOf(IDENTIFIER_FORMATS))
    delivery_mode = fields.String(validate=validate.OneOf(DELIVERY_MODES))
    # The WhatsApp channel look-ups and welcome messages use (none: the account's main channel).
    channel_uuid = fields.String(validate=validate.Length(min=1))


class SourceSchema(DefaultsSchema, settings_schema()):  # type: ignore[misc]
    """One `[sources.<name>]` table."""

    # Both are required: a source that says nothing must not silently accept anyone as JSON.
    preset = fields.String(required=True, validate=validate.OneOf(sorted(PRESETS)))
    auth = fields.String(required=True, validate=validate.OneOf(sorted(SCHEMES)))
    secret_env = fields.String(validate=validate.Regexp(ENV_NAME))
    tags = fields.List(fields.String(validate=validate.Length(min=1)), load_default=list)
    tag_fields = fields.List(fields.String(validate=validate.Length(min=1)), load_default=list)
    fields_ = fields.Dict(
        data_key="fields",
        keys=fields.String(validate=validate.OneOf(CONTACT_KEYS)),
        values=fields.String(validate=validate.Length(min=1)),
        load_default=dict,
    )
    custom_fields = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1)),
        values=fields.String(validate=validate.Length(min=1)),
        load_default=dict,
    )

    honeypot = fields.String(validate=validate.Length(min=1))
    redirect_url = fields.Url()
    error_redirect_url = fields.Url()
    allowed_origins = fields.List(fields.String(validate=validate.Length(min=1)), load_default=list)
    test_leads = fields.String(load_default="skip", validate=validate.OneOf(TEST_LEAD_ACTIONS))
    verify_token_env = fields.String(validate=validate.Regexp(ENV_NAME))
    page_token_env = fields.String(validate=validate.Regexp(ENV_NAME))
    welcome = fields.Nested(WelcomeSchema)
    assign = fields.Nested(AssignSchema)

    @validates_schema
    def _secret_named_when_needed(self, data: dict[str, Any], **_: Any) -> None:
        """Refuse a verifying scheme that names no secret: it would accept nobody or everybody."""
        if data["auth"] not in SCHEMES_WITHOUT_SECRET and not data.get("secret_env"):
            raise ValidationError(f"auth {data['auth']!r} needs secret_env", "secret_env")
        if data["auth"] in SCHEMES_WITHOUT_SECRET and data.get("secret_env"):
            raise ValidationError(
                f"auth {data['auth']!r} checks no secret: remove secret_env, or choose a scheme that uses it",
                "secret_env",
            )
        if PRESETS[data["preset"]].fetches_lead and not data.get("page_token_env"):
            raise ValidationError(
                f"{data['preset']} needs the page access token to fetch leads", "page_token_env"
            )


class SourcesFileSchema(Schema):
    """The whole file: `[defaults]` and at least one `[sources.<name>]`."""

    class Meta:
        unknown = RAISE

    defaults = fields.Nested(DefaultsSchema, load_default=dict)
    sources = fields.Dict(
        keys=fields.String(
            validate=validate.Regexp(r"^[A-Za-z0-9_-]+$", error="use letters, digits, - and _")
        ),
        values=fields.Nested(SourceSchema),
        required=True,
        validate=validate.Length(min=1),
    )


BUILTIN_DEFAULTS = {
    "callbell_source": "whatsapp",
    "default_region": "US",
    "identifier_format": "digits",
    "delivery_mode": "upsert",
}


@dataclass(frozen=True)
class Source:
    """One source with the defaults applied and its secrets read from the environment."""

    name: str
    preset: str
    auth: str
    callbell_source: str
    default_region: str
    identifier_format: str
    delivery_mode: str
    secrets: tuple[str, ...] = field(repr=False, default=())
    secret_env: str = ""  # the variable's name, never its value
    tags: tuple[str, ...] = ()
    tag_fields: tuple[str, ...] = ()
    fields: dict[str, str] = field(default_factory=dict)
    custom_fields: dict[str, str] = field(default_factory=dict)
    contact_settings: dict[str, str] = field(default_factory=dict)  # see contact_fields.SOURCE_SETTINGS
    honeypot: str | None = None
    redirect_url: str | None = None
    error_redirect_url: str | None = None
    allowed_origins: tuple[str, ...] = ()
    test_leads: str = "skip"
    verify_token: str = field(repr=False, default="")
    page_token: str = field(repr=False, default="")
    channel_uuid: str = ""
    welcome: Welcome | None = None
    assign: Assign | None = None

    @property
    def reader(self) -> Preset:
        """The preset this source reads its payloads with."""
        return PRESETS[self.preset]


def load_sources(path: str = "", role: str = INTAKE) -> dict[str, Source]:
    """Read and validate the sources file (the embedded sample when no path is given).

    `role` says which secrets must be set: the intake needs the senders' secrets, a worker the
    tokens it fetches leads with, an operator command none.
    """
    label = path or "embedded sources.toml"
    try:
        if path:
            with open(path, "rb") as fh:
                raw = tomllib.load(fh)
        else:
            raw = tomllib.loads(resources.files("service").joinpath("sources.toml").read_text())
    except OSError as exc:
        raise ConfigError(f"{label}: cannot be read: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{label}: not valid TOML: {exc}") from exc
    return parse_sources(raw, label, role)


def parse_sources(raw: dict[str, Any], label: str = "sources", role: str = INTAKE) -> dict[str, Source]:
    """Validate an already-parsed sources mapping and build the Source objects."""
    try:
        data = SourcesFileSchema().load(raw)
    except ValidationError as exc:
        raise ConfigError("\n".join(f"{label}: {error}" for error in _errors(exc.messages))) from exc
    defaults = {**BUILTIN_DEFAULTS, **data["defaults"]}
    built = {}
    for name, table in data["sources"].items():
        merged = {**defaults, **table}
        built[name] = Source(
            name=name,
            preset=merged["preset"],
            auth=merged["auth"],
            callbell_source=merged["callbell_source"],
            default_region=merged["default_region"],
            identifier_format=merged["identifier_format"],
            delivery_mode=merged["delivery_mode"],
            secrets=_read_secrets(label, name, merged, required=role == INTAKE),
            secret_env=merged.get("secret_env", ""),
            tags=tuple(merged["tags"]),
            tag_fields=tuple(merged["tag_fields"]),
            fields=dict(merged["fields_"]),
            custom_fields=dict(merged["custom_fields"]),
            contact_settings={f.name: merged[f.name] for f in SOURCE_SETTINGS if merged.get(f.name)},
            honeypot=merged.get("honeypot"),
            redirect_url=merged.get("redirect_url"),
            error_redirect_url=merged.get("error_redirect_url"),
            allowed_origins=tuple(merged["allowed_origins"]),
            test_leads=merged["test_leads"],
            verify_token=_read_env(label, name, merged, "verify_token_env", required=role == INTAKE),
            page_token=_read_env(label, name, merged, "page_token_env", required=role == WORKER),
            channel_uuid=merged.get("channel_uuid", ""),
            welcome=welcome_of(
                merged.get("welcome"), merged.get("channel_uuid", ""), f"{label}: sources.{name}"
            ),
            assign=assign_of(merged.get("assign")),
        )
    return built


def _read_secrets(label: str, name: str, table: dict[str, Any], required: bool) -> tuple[str, ...]:
    """Read the source's secrets; several separated by spaces allow rotation."""
    env_name = table.get("secret_env")
    if not env_name:
        return ()
    secrets = tuple(os.environ.get(env_name, "").split())
    if required and not secrets and table["auth"] not in SCHEMES_WITHOUT_SECRET:
        raise ConfigError(f"{label}: sources.{name}.secret_env: environment variable {env_name} is not set")
    return secrets


def _read_env(label: str, name: str, table: dict[str, Any], key: str, required: bool) -> str:
    """Read a single token named by `key`; a named but unset variable stops a process that needs it."""
    env_name = table.get(key)
    if not env_name:
        return ""
    value = os.environ.get(env_name, "").strip()
    if required and not value:
        raise ConfigError(f"{label}: sources.{name}.{key}: environment variable {env_name} is not set")
    return value


def _errors(messages: Any, prefix: str = "") -> list[str]:
    """Flatten marshmallow's nested messages to `dotted.key: reason`, every one of them."""
    if isinstance(messages, dict):
        found = []
        for key, value in messages.items():
            if key == "value" and isinstance(value, dict):
                found += _errors(value, prefix)
                continue
            dotted = f"{prefix}.{key}" if prefix else str(key)
            found += _errors(value, dotted.replace("fields_", "fields") if key == "fields_" else dotted)
        return found
    if isinstance(messages, list):
        if all(isinstance(m, str) for m in messages):
            return [f"{prefix}: {m}" if prefix else m for m in messages]
        return [e for m in messages for e in _errors(m, prefix)]
    return [f"{prefix}: {messages}"]
