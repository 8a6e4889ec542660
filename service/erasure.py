"""Erase a person: every lead record that holds their phone or email, for an erasure request (GDPR, LGPD).

The leads are found through the search index (a keyed hash of the normalised phone and email, so
the request itself leaves nothing in clear in Redis) and deleted with their index entries. The
erasure is logged with the number of leads and their ids, never with the phone or the email.
A lead rejected before its phone could be read is not in the index: find it among the dead
letters and delete it there.
"""

from __future__ import annotations

import logging

import phonenumbers

from service.contact import parse_phone
from service.store import LeadStore

log = logging.getLogger("leadrelay.erasure")


def search_keys(store: LeadStore, phone: str = "", email: str = "", region: str = "US") -> list[str]:
    """The search sets of a phone (written any way) and an email; ValueError for a phone that is not one."""
    keys = []
    if phone.strip():
        e164 = phonenumbers.format_number(parse_phone(phone, region), phonenumbers.PhoneNumberFormat.E164)
        keys.append(store.finder.search_key("phone", e164))
    if email.strip():
        keys.append(store.finder.search_key("email", email))
    return keys


def matching(store: LeadStore, keys: list[str]) -> list[str]:
    """The ids of the leads filed under any of `keys`, oldest id first."""
    return sorted({i.decode() for key in keys for i in store.redis.smembers(key)})


def erase(store: LeadStore, keys: list[str], by: str) -> list[str]:
    """Delete every lead filed under `keys`; return their ids. `by` names who asked (for the log)."""
    ids = matching(store, keys)
    deleted = [lead_id for lead_id in ids if store.delete(lead_id)]
    if keys:
        store.redis.delete(*keys)
    log.warning(
        "erased a person's data on request", extra={"leads": len(deleted), "lead_ids": deleted, "by": by}
    )
    return deleted
