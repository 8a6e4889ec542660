"""The console's pages: sign-in, overview, leads (filters, search, cursor pages), one lead."""

from __future__ import annotations

import time
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError

from service import dead_groups, deadletters, erasure
from service.console import bulk, charts, csrf, queries, secure
from service.keys import STATUSES, WELCOME_ATTENTION
from service.lead_view import iso
from service.runtime import runtime
from service.verify import matches_any

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="../templates",
    static_folder="../static",
    static_url_path="/static",
)
# Failed sign-ins allowed per address in FAIL_WINDOW seconds before the form refuses for a while.
MAX_FAILURES = 5
FAIL_WINDOW = 300
SINCE = {"24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400}


def _credentials() -> tuple[str, ...]:
    settings = runtime().settings
    return tuple(c for c in (settings.admin_token, settings.console_password) if c)


@bp.before_request
def _guard() -> Response | None:
    """404 when the console is off; CSRF on every form; sign-in for every page but its own."""
    if not _credentials():
        abort(404, "the console is off: set LEADRELAY_ADMIN_TOKEN or LEADRELAY_CONSOLE_PASSWORD")
    if request.method == "POST":
        csrf.protect()
    if request.endpoint in ("console.signin", "console.static") or session.get("operator"):
        return None
    return redirect(url_for("console.signin", next=request.path))


@bp.after_request
def _headers(response: Response) -> Response:
    return secure(response)


@bp.errorhandler(CSRFError)
def _csrf_error(exc: CSRFError) -> tuple[str, int]:
    return render_template("console/error.html", message=f"The form was refused: {exc.description}"), 400


@bp.app_template_filter("when")
def _when(at: float | None) -> str:
    return iso(at).replace("T", " ")[:19] if at else "-"


@bp.route("/signin", methods=["GET", "POST"])
def signin() -> Any:
    """Sign in with the admin token (or the console password)."""
    if request.method == "GET":
        return render_template("console/signin.html")
    redis = runtime().redis
    key = f"leadrelay:console:failures:{request.remote_addr}"
    if int(redis.get(key) or 0) >= MAX_FAILURES:
        return render_template(
            "console/signin.html", error="Too many failed sign-ins: wait five minutes."
        ), 429
    if not matches_any(request.form.get("token", ""), _credentials()):
        with redis.pipeline() as pipe:
            pipe.incr(key)
            pipe.expire(key, FAIL_WINDOW)
            pipe.execute()
        return render_template("console/signin.html", error="That token is not right."), 401
    redis.delete(key)
    session.clear()
    session.permanent = True
    session["operator"] = True
    target = request.args.get("next", "")
    return redirect(target if target.startswith("/console/") else url_for("console.overview"))


@bp.post("/signout")
def signout() -> Response:
    """Sign out: the session cookie is emptied."""
    session.clear()
    return redirect(url_for("console.signin"))


@bp.get("/")
def overview() -> str:
    """Leads per hour and day, outcomes per source, latency, queue and warnings."""
    view = queries.overview(runtime())
    return render_template(
        "console/overview.html",
        view=view,
        hours_chart=charts.bars(view.hours, "Leads received per hour, last 24 hours", "%H:00"),
        days_chart=charts.bars(view.days, "Leads received per day, last 7 days", "%a %d"),
    )


@bp.get("/leads")
def leads() -> str:
    """Newest first; filters by source, status and time; exact search by id, phone or email."""
    rt = runtime()
    args = request.args
    query = args.get("q", "").strip()
    if query:
        page = queries.Page(queries.search(rt, query, rt.default_region()), None)
    else:
        since = time.time() - SINCE[args["since"]] if args.get("since") in SINCE else None
        source = args.get("source", "") if args.get("source") in rt.sources else ""
        status = args.get("status", "") if args.get("status") in STATUSES else ""
        welcome = args.get("welcome", "") if args.get("welcome") in WELCOME_ATTENTION else ""
        page = queries.leads(rt, source, status, since, args.get("cursor", ""), welcome)
    return render_template(
        "console/leads.html",
        page=page,
        sources=sorted(rt.sources),
        statuses=STATUSES,
        welcomes=WELCOME_ATTENTION,
        args=args,
        query=query,
    )


@bp.get("/leads/<lead_id>")
def lead(lead_id: str) -> str:
    """One lead's timeline: receipt, payload, contact request, every Callbell exchange, outcome."""
    record = runtime().store.get(lead_id)
    if record is None:
        abort(404)
    return render_template(
        "console/lead.html", lead=record, payload=record["body"].decode("utf-8", "replace")
    )


@bp.post("/leads/<lead_id>/replay")
def replay(lead_id: str) -> Response:
    """Rebuild a dead letter's contact request with the sources in force and deliver it again."""
    rt = runtime()
    try:
        result = deadletters.replay(rt.store, rt.sources, lead_id)
    except LookupError:
        abort(404)
    flash("Replayed: delivery queued." if result["replayed"] else f"Not replayed: {_why(result)}")
    return redirect(url_for("console.lead", lead_id=lead_id))


@bp.post("/leads/<lead_id>/purge")
def purge(lead_id: str) -> Response:
    """Delete a lead for good."""
    if not runtime().store.delete(lead_id):
        abort(404)
    flash("The lead was deleted.")
    return redirect(url_for("console.leads"))


def _why(result: dict[str, Any]) -> str:
    errors = result.get("errors") or {}
    if errors:
        field, reasons = next(iter(errors.items()))
        return f"{field}: {reasons[0] if isinstance(reasons, list) else reasons}"
    return str(result.get("reason", "unknown reason"))


@bp.get("/dead")
def dead() -> str:
    """Dead letters grouped by cause, each group with bulk replay and delete."""
    return render_template("console/dead.html", groups=dead_groups.listing(runtime().redis))


@bp.post("/dead/<key>/<action>")
def bulk_action(key: str, action: str) -> Response:
    """Replay or delete a whole group in a worker; the next page shows its progress."""
    group = dead_groups.find(runtime().redis, key)
    if group is None or action not in bulk.ACTIONS:
        abort(404)
    ids = dead_groups.ids(runtime().redis, key)
    batch_id = bulk.start(runtime(), action, group.label, ids)
    return redirect(url_for("console.batch", batch_id=batch_id))


@bp.get("/batches/<batch_id>")
def batch(batch_id: str) -> str:
    """A batch's progress: the page, or with `?part=progress` the fragment htmx swaps in."""
    found = bulk.progress(runtime(), batch_id)
    if found is None:
        abort(404)
    finished = found["done"] >= found["total"]
    template = "console/_progress.html" if request.args.get("part") == "progress" else "console/batch.html"
    return render_template(template, batch=found, finished=finished, batch_id=batch_id)


@bp.get("/sources")
def sources() -> str:
    """Each source: the URL to paste into the sender, how it verifies, its last lead and counts."""
    rt = runtime()
    base = (rt.settings.public_url or request.host_url).rstrip("/")
    return render_template("console/sources.html", rows=queries.sources(rt), base=base)


@bp.post("/sources/<name>/sample")
def sample(name: str) -> Response:
    """Send a sample lead through the real intake path of a source, and show it."""
    rt = runtime()
    source = rt.sources.get(name)
    if (
        source is None
        or source.preset not in queries.SAMPLE_PRESETS
        or source.auth not in ("none", "api_key")
    ):
        abort(404)
    headers = {"X-Api-Key": source.secrets[0]} if source.auth == "api_key" and source.secrets else {}
    sample_lead = {"name": "Sample Lead", "phone": "+1 415 555 0123", "email": "sample@example.com"}
    with current_app.test_client() as client:  # the intake view itself, in this process
        if source.preset == "form":
            answer = client.post(f"/v1/leads/{name}", data=sample_lead, headers=headers)
        else:
            answer = client.post(f"/v1/leads/{name}", json=sample_lead, headers=headers)
    body = answer.get_json(silent=True) or {}
    if "lead_id" not in body:
        flash(f"The sample lead was refused: {body.get('detail', answer.status)}")
        return redirect(url_for("console.sources"))
    flash(f"Sample lead sent to {name}: {answer.status_code} {body.get('status', '')}.")
    return redirect(url_for("console.lead", lead_id=body["lead_id"]))


@bp.route("/erase", methods=["GET", "POST"])
def erase() -> Any:
    """Erase a person: find their leads by phone or email (POSTed, never in a URL), confirm, delete."""
    if request.method == "GET":
        return render_template("console/erase.html", found=None)
    rt = runtime()
    phone, email = request.form.get("phone", ""), request.form.get("email", "")
    try:
        keys = erasure.search_keys(rt.store, phone, email, rt.default_region())
    except ValueError as exc:
        return render_template("console/erase.html", found=None, error=str(exc), phone=phone, email=email)
    if request.form.get("confirm") != "yes":
        found = [r for r in (rt.store.get(i) for i in erasure.matching(rt.store, keys)) if r]
        return render_template("console/erase.html", found=found, phone=phone, email=email)
    erased = erasure.erase(rt.store, keys, by="console")
    flash(f"{len(erased)} lead(s) of that person were erased.")
    return redirect(url_for("console.erase"))


@bp.get("/api")
def api_docs() -> str:
    """The OpenAPI document, rendered on the server: every operation and every schema."""
    from service.openapi import document

    return render_template("console/api.html", doc=document(runtime().settings.callbell_webhook_path))
