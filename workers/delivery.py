"""One delivery of a contact request: upsert (look up, then PATCH or POST) or create-only, with its agent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from service.contact_fields import PATCH_SET
from workers.callbell import Answer, CallbellClient, UpstreamError, contact_of
from workers.ratelimit import Fence

# The lead's field that says a create was sent for it (set as the create is admitted).
CREATE_SENT = "create_sent"


@dataclass
class Delivered:
    """What a delivery did: the contact's uuid, whether it is new, and the agent it has now."""

    uuid: str
    created: bool
    assigned_user: str | None = None


def deliver_contact(
    client: CallbellClient,
    contact: dict[str, Any],
    mode: str,
    log: list[dict[str, Any]],
    fence: Fence | None = None,
    pick_agent: Callable[[], str | None] | None = None,
    reassign: bool = False,
    created_before: bool = False,
) -> Delivered:
    """Create or update the contact in Callbell and say what happened.

    Upsert looks the phone up first (on the source's channel, when it names one), so a retry after
    a timeout that did create the contact updates it instead of creating a second one; a POST
    refused because the contact exists (a concurrent delivery) falls back to the same look-up and
    PATCH. With a `fence`, every request goes only while the job holds the lead's lease (LeaseLost
    stops the delivery otherwise). `pick_agent` chooses an agent, called only when one is needed: a new
    contact, one with no agent, or any contact when the source says `reassign`. A contact counts
    as new when this delivery created it, or when an earlier attempt for this lead sent the create
    (`created_before`: its answer was lost); every create marks the lead (CREATE_SENT) as it is
    sent, so the next attempt can know that.
    """
    client = _Fenced(client, fence)
    if mode == "create":
        contact = _with_agent(contact, pick_agent)
        created = client.call("create", "POST", "/contacts", log, body=contact, mark=CREATE_SENT)
        return Delivered(_uuid(created), True, contact.get("assigned_user"))
    channel = contact.get("channel_uuid", "")
    existing = _look_up(client, contact["identifier"], log, channel)
    if existing is None:
        with_agent = _with_agent(contact, pick_agent)
        try:
            created = _uuid(
                client.call("create", "POST", "/contacts", log, body=with_agent, mark=CREATE_SENT)
            )
            return Delivered(created, True, with_agent.get("assigned_user"))
        except UpstreamError as err:
            if not _says_exists(err, log):
                raise
        existing = _look_up(client, contact["identifier"], log, channel)
        if existing is None:
            raise UpstreamError("lookup", 404, "Callbell says the contact exists, but the look-up finds none")
    if not existing.get("assignedUser") or reassign:
        contact = _with_agent(contact, pick_agent)
    else:
        contact = {k: v for k, v in contact.items() if k != "assigned_user"}  # it keeps its agent
    _update(client, existing, contact, log)
    agent = contact.get("assigned_user") or existing.get("assignedUser")
    return Delivered(existing["uuid"], created_before, agent)


def _with_agent(contact: dict[str, Any], pick_agent: Callable[[], str | None] | None) -> dict[str, Any]:
    """The contact request with the agent `pick_agent` chooses (unchanged when it chooses none)."""
    agent = pick_agent() if pick_agent else None
    return {**contact, "assigned_user": agent} if agent else contact


class _Fenced:
    """A client whose every call goes only while the delivery holds its lease."""

    def __init__(self, client: CallbellClient, fence: Fence | None):
        self.client, self.fence = client, fence

    def call(self, *args: Any, **kwargs: Any) -> Answer | None:
        """The client's call, fenced by the delivery's lease."""
        return self.client.call(*args, fence=self.fence, **kwargs)


def _look_up(
    client: CallbellClient, identifier: str, log: list[dict[str, Any]], channel: str = ""
) -> dict[str, Any] | None:
    """Find the contact by phone (on `channel`, else Callbell's main WhatsApp channel), or None."""
    path = f"/contacts/phone/{quote(identifier, safe='')}"
    if channel:
        path += f"?channel_uuid={quote(channel, safe='')}"
    response = client.call("lookup", "GET", path, log, missing_ok=True)
    return None if response is None else contact_of(_json(response))


def _update(
    client: CallbellClient, existing: dict[str, Any], contact: dict[str, Any], log: list[dict[str, Any]]
) -> str:
    """PATCH the existing contact with the union of tags and the merged custom fields."""
    body: dict[str, Any] = {key: contact[key] for key in PATCH_SET if contact.get(key)}
    body["tags"] = sorted(set(existing.get("tags") or []) | set(contact.get("tags") or []))
    body["custom_fields"] = {**(existing.get("customFields") or {}), **(contact.get("custom_fields") or {})}
    client.call("update", "PATCH", f"/contacts/{quote(existing['uuid'], safe='')}", log, body=body)
    return existing["uuid"]


def _says_exists(err: UpstreamError, log: list[dict[str, Any]]) -> bool:
    """True when a refused POST says the contact already exists (Callbell does not document how)."""
    body = (log[-1].get("body") or "").lower() if log else ""
    return err.status in (409, 422) and "exist" in body


def _uuid(response: Answer | None) -> str:
    """The uuid of the contact in an answer, or "" when the answer has none."""
    contact = contact_of(_json(response)) if response is not None else None
    return str(contact.get("uuid", "")) if contact else ""


def _json(response: Answer) -> Any:
    """The JSON body, or None when a 2xx answer is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None
