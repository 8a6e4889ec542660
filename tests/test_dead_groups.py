"""Dead letters grouped by cause as they die: counts stay right through replay, delete and retention."""

from __future__ import annotations

import time

from service import dead_groups

BAD = {"name": "Bad Phone", "phone": "12"}
NO_PHONE = {"name": "No Phone", "email": "someone@example.com"}


def groups(redis):
    return {g.label: g for g in dead_groups.listing(redis)}


def reject(client, data):
    response = client.post("/v1/leads/website", data=data)
    assert response.status_code == 422
    return response.get_json()["lead_id"]


def test_rejected_leads_are_counted_under_their_cause(client, redis):
    bad = [reject(client, {**BAD, "name": f"Bad {n}"}) for n in range(3)]
    reject(client, NO_PHONE)
    found = groups(redis)
    phone = next(g for label, g in found.items() if label.startswith("invalid phone"))
    assert phone.count == 3 and phone.sources == {"website"} and phone.status == "rejected"
    assert sum(g.count for g in found.values()) == 4
    assert sorted(dead_groups.ids(redis, phone.key)) == sorted(bad)


def test_delete_and_replay_take_a_lead_out_of_its_group(client, redis, admin_headers):
    bad = [reject(client, {**BAD, "name": f"Bad {n}"}) for n in range(3)]
    key = next(iter(groups(redis).values())).key
    assert client.delete(f"/v1/leads/{bad[0]}", headers=admin_headers).status_code in (200, 204)
    still_invalid = client.post(f"/v1/leads/{bad[1]}/replay", headers=admin_headers)
    assert still_invalid.status_code == 422  # replayed, failed again: one dead letter, not two
    assert dead_groups.find(redis, key).count == 2
    assert sorted(dead_groups.ids(redis, key)) == sorted(bad[1:])


def test_causes_past_the_retention_are_forgotten(client, redis):
    reject(client, BAD)
    dead_groups.trim(redis, older_than=time.time() - 60)
    assert len(groups(redis)) == 1  # still within the retention
    dead_groups.trim(redis, older_than=time.time() + 1)
    assert groups(redis) == {} and redis.hlen(dead_groups.GROUPS) == 0
