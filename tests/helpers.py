"""Helpers the delivery tests share: post a lead, read it back, wait for its outcome, drive the sandbox."""

from __future__ import annotations

import requests

from tests.conftest import wait_for

LEAD = {"name": "Ada Lovelace", "phone": "+1 415 555 0100", "email": "ada@example.com", "interest": "Pricing"}


def post_lead(client, data=None, source="website"):
    response = client.post(f"/v1/leads/{source}", data=data or LEAD)
    assert response.status_code == 202, response.get_json()
    return response.get_json()["lead_id"]


def lead(client, admin_headers, lead_id):
    return client.get(f"/v1/leads/{lead_id}", headers=admin_headers).get_json()


def final(client, admin_headers, lead_id, timeout=30.0):
    """Wait until the lead is delivered or dead, and return it."""
    return wait_for(
        lambda: (r := lead(client, admin_headers, lead_id))["status"] in ("delivered", "dead") and r,
        timeout=timeout,
    )


def contacts(sandbox):
    return requests.get(f"{sandbox}/_sandbox/contacts", timeout=5).json()["contacts"]


def configure(sandbox, **changes):
    requests.post(f"{sandbox}/_sandbox/config", json=changes, timeout=5).raise_for_status()
