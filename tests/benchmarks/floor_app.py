"""The bare app plus the one write a lead needs: the store's script (record, indexes, RQ job), nothing else.

No verification, no contact schema, no phone, no log line: what intake could reach if all of that
cost nothing. The contact is fixed; each request is still a new person (its name is the dedup key).
"""

from __future__ import annotations

from flask import Flask, jsonify, request

from service import metrics
from service.records import NewLead
from service.runtime import Runtime
from service.settings import Settings

CONTACT = {"name": "Floor", "phone_number": "+14155550100", "tags": ["Website"]}


def create_app() -> Flask:
    """Build the floor app on the environment's Redis (REDIS_URL), as the full stack is."""
    app = Flask(__name__)
    store = Runtime.start(Settings.load()).store

    @app.post("/v1/leads/<source>")
    def accept(source: str):  # type: ignore[no-untyped-def]
        form = request.form.to_dict()
        lead = NewLead(source, request.content_type or "", request.get_data(), CONTACT)
        lead_id, duplicate_of = store.accept(
            lead,
            f"floor:{form.get('name')}",
            (
                metrics.field(metrics.LEADS_RECEIVED, source="floor", outcome="queued"),
                metrics.field(metrics.LEADS_RECEIVED, source="floor", outcome="duplicate"),
            ),
            finds=store.finder.keys_for(CONTACT["phone_number"], form.get("email")),
        )
        response = jsonify(lead_id=lead_id, status=duplicate_of or "queued")
        response.status_code = 200 if duplicate_of else 202
        return response

    return app
