"""One delivery of a contact request: upsert (look up, then PATCH or POST) or create-only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import requests

from service.contact_fields import PATCH_SET
from workers.callbell import CallbellClient, UpstreamError, contact_of


def deliver_contact(
    client: CallbellClient,
    contact: dict[str, Any],
    mode: str,
    log: list[dict[str, Any]],
    guard: Callable[[], None] = lambda: None,
) -> str:
    """Create or update the contact in Callbell and return its uuid ("" if Callbell gave none).

    Upsert looks the phone up first, so a retry after a timeout that did create the contact
    updates it instead of creating a second one; a POST refused because the contact exists
    (a concurrent delivery) falls back to the same look-up and PATCH. `guard` runs before every
    request and raises to stop the delivery (the job no longer holds the lead's lease).
    """
    client = _Guarded(client, guard)
    if mode == "create":
        return _uuid(client.call("create", "POST", "/contacts", log, body=contact))
    existing = _look_up(client, contact["identifier"], log)
    if existing is None:
        try:
            return _uuid(client.call("create", "POST", "/contacts", log, body=contact))
        except UpstreamError as err:
            if not _says_exists(err, log):
                raise
        existing = _look_up(client, contact["identifier"], log)
        if existing is None:
            raise UpstreamError("lookup", 404, "Callbell says the contact exists, but the look-up finds none")
    return _update(client, existing, contact, log)


class _Guarded:
    """A client whose every call runs `guard` first."""

    def __init__(self, client: CallbellClient, guard: Callable[[], None]):
        self.client, self.guard = client, guard

    def call(self, *args: Any, **kwargs: Any) -> requests.Response | None:
        """Run the guard, then the client's call."""
        self.guard()
        return self.client.call(*args, **kwargs)


def _look_up(client: CallbellClient, identifier: str, log: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Find the contact by phone, or None."""
    response = client.call(
        "lookup", "GET", f"/contacts/phone/{quote(identifier, safe='')}", log, missing_ok=True
    )
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


def _uuid(response: requests.Response | None) -> str:
    """The uuid of the contact in an answer, or "" when the answer has none."""
    contact = contact_of(_json(response)) if response is not None else None
    return str(contact.get("uuid", "")) if contact else ""


def _json(response: requests.Response) -> Any:
    """The JSON body, or None when a 2xx answer is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None
