"""What happens after a contact is delivered, per source: a WhatsApp welcome template and an agent.

The sources file's `[sources.<name>.welcome]` and `[sources.<name>.assign]` tables, validated here,
and the template values rendered from a lead's answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

DURATION = re.compile(r"^\d+(\.\d+)?[smhd]$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_.\- ]+)(?:\|([^}]*))?\}")


class WelcomeSchema(Schema):
    """`[sources.<name>.welcome]`: which template to send, with what values, to whom."""

    class Meta:
        unknown = RAISE

    template_uuid = fields.String(required=True, validate=validate.Length(min=1))
    channel_uuid = fields.String(validate=validate.Length(min=1))
    values = fields.List(fields.String(), load_default=list)
    consent_field = fields.String(validate=validate.Length(min=1))
    consent = fields.String(validate=validate.OneOf(["assumed"]))
    only_new = fields.Boolean(load_default=True)
    cooldown = fields.String(
        load_default="7d", validate=validate.Regexp(DURATION, error="use e.g. 12h or 7d")
    )

    @validates_schema
    def _consent_said(self, data: dict[str, Any], **_: Any) -> None:
        """WhatsApp lets a business write first only to people who agreed: say how we know they did."""
        if bool(data.get("consent_field")) == bool(data.get("consent")):
            raise ValidationError(
                'set consent_field (the answer that says the person agreed) or consent = "assumed"',
                "consent_field",
            )


class AssignSchema(Schema):
    """`[sources.<name>.assign]`: one user, a round robin over users, or a team's members."""

    class Meta:
        unknown = RAISE

    user = fields.Email()
    users = fields.List(fields.Email(), validate=validate.Length(min=1))
    team_uuid = fields.String(validate=validate.Length(min=1))
    available_only = fields.Boolean(load_default=True)
    reassign = fields.Boolean(load_default=False)

    @validates_schema
    def _one_way(self, data: dict[str, Any], **_: Any) -> None:
        """Exactly one of user, users and team_uuid."""
        if sum(1 for key in ("user", "users", "team_uuid") if data.get(key)) != 1:
            raise ValidationError("set exactly one of user, users, team_uuid", "user")


@dataclass(frozen=True)
class Welcome:
    """A source's welcome message."""

    template_uuid: str
    channel_uuid: str
    values: tuple[str, ...]
    consent_field: str
    only_new: bool
    cooldown_seconds: int


@dataclass(frozen=True)
class Assign:
    """A source's agent assignment."""

    users: tuple[str, ...] = ()  # one user is a list of one
    team_uuid: str = ""
    available_only: bool = True
    reassign: bool = False


def welcome_of(table: dict[str, Any] | None, channel_uuid: str, label: str) -> Welcome | None:
    """Build a source's Welcome from its validated table (the defaults may name the channel)."""
    if not table:
        return None
    channel = table.get("channel_uuid") or channel_uuid
    if not channel:
        from service.errors import ConfigError

        raise ConfigError(f"{label}.welcome.channel_uuid: needed here or in [defaults]")
    amount, unit = table["cooldown"][:-1], table["cooldown"][-1]
    return Welcome(
        template_uuid=table["template_uuid"],
        channel_uuid=channel,
        values=tuple(table["values"]),
        consent_field=table.get("consent_field", ""),
        only_new=table["only_new"],
        cooldown_seconds=int(float(amount) * UNITS[unit]),
    )


def assign_of(table: dict[str, Any] | None) -> Assign | None:
    """Build a source's Assign from its validated table."""
    if not table:
        return None
    users = tuple(table.get("users") or ([table["user"]] if table.get("user") else []))
    return Assign(users, table.get("team_uuid", ""), table["available_only"], table["reassign"])


def render_values(templates: tuple[str, ...], answers: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Fill each value's `{key}` or `{key|fallback}` from the answers; return (values, keys missing)."""
    missing: list[str] = []

    def fill(match: re.Match[str]) -> str:
        value = answers.get(match.group(1).strip())
        text = "" if value is None else str(value).strip()
        if text:
            return text
        if match.group(2) is not None:
            return match.group(2)
        missing.append(match.group(1).strip())
        return ""

    return [PLACEHOLDER.sub(fill, template) for template in templates], missing


def consented(value: Any) -> bool:
    """Whether a consent answer says yes (a ticked box, "yes", "true", "1", "on", "agree...")."""
    if isinstance(value, bool):
        return value
    if isinstance(value, list):
        return any(consented(v) for v in value)
    text = str(value or "").strip().lower()
    return text in ("1", "true", "yes", "y", "on", "checked", "sim", "si", "oui", "ja") or text.startswith(
        ("agree", "i agree", "accept")
    )
