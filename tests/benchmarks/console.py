"""Console page speed with 100,000 lead records and 20,000 dead letters in Redis.

The leads are written by the store's own code (the same transactions intake and the workers use,
so every index and counter is what production keeps), then every page is fetched from the
production gunicorn config by a signed-in operator. No page has a cache; before measuring, the
run checks from Redis itself that the records and dead letters are all there.
"""

from __future__ import annotations

import dataclasses
import json
import re
import statistics
import time
from pathlib import Path

import requests

from service.embedded_redis import free_port
from tests.benchmarks.harness import Stack, serve_production, stop

TOKEN = "bench-console-token"
SOURCES = """
[defaults]
default_region = "US"
""" + "".join(
    f'\n[sources.{name}]\npreset = "form"\nauth = "none"\ntags = ["Website"]\n'
    for name in ("website", "landing", "webinar", "pricing", "partners")
)
CAUSES = (
    "Callbell answered 422: unknown tags: 'Enterprise'",
    "Callbell answered 401: invalid token",
    "retries exhausted: Callbell answered 503",
)
SAMPLES = 40  # requests per page, one after another, none left out


def seed(stack: Stack, sources: Path, leads: int, dead: int) -> dict[str, int]:
    """Write `leads` leads through the store: `dead` of them dead letters (half rejected), most delivered."""
    from service import create_app
    from service.keys import Status
    from service.records import NewLead

    store = (
        create_app({"redis_url": stack.redis.url, "sources_path": str(sources)}).extensions["leadrelay"].store
    )
    names = ("website", "landing", "webinar", "pricing", "partners")
    started = time.monotonic()
    for n in range(leads):
        source = names[n % len(names)]
        phone, email = f"+1415{2_000_000 + n:07d}", f"lead{n}@example.com"
        body = f"name=Lead+{n}&phone={phone}&email={email}&interest=Pricing".encode()
        queued = n >= dead and n % 10 == 9  # one lead in ten waits in the queue
        lead = NewLead(source, "application/x-www-form-urlencoded", body, enqueue=queued)
        if n < dead // 2:  # rejected at intake, under a few causes
            store.reject(lead, {"phone": [f"not a valid number for region {('GB', 'DE', 'FR')[n % 3]}"]})
            continue
        contact = {"name": f"Lead {n}", "phoneNumber": phone[1:], "tags": ["Website"]}
        lead = dataclasses.replace(lead, contact=contact)
        lead_id, _ = store.accept(lead, finds=store.finder.keys_for(phone, email))
        if queued:
            continue
        exchange = {"at": time.time(), "kind": "create", "status": 200, "duration_ms": 95.0}
        if n < dead:
            exchange["status"] = 422
            store.finish_attempt(lead_id, Status.DEAD, 1, [exchange], source=source, reason=CAUSES[n % 3])
        else:
            store.finish_attempt(
                lead_id, Status.DELIVERED, 1, [exchange], source=source, delivered_at=time.time()
            )
    return {"seconds": round(time.monotonic() - started)}


def sign_in(base: str) -> requests.Session:
    """A session signed in through the sign-in form (its CSRF token included)."""
    session = requests.Session()
    form = session.get(f"{base}/console/signin", timeout=10).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    answer = session.post(f"{base}/console/signin", data={"token": TOKEN, "csrf_token": csrf}, timeout=10)
    answer.raise_for_status()
    return session


def pages(base: str, session: requests.Session) -> dict[str, str]:
    """The pages an operator opens, with ids and cursors taken from the pages themselves."""
    leads = session.get(f"{base}/console/leads", timeout=30).text
    lead_id = re.search(r"/console/leads/([0-9a-f]{32})", leads).group(1)  # type: ignore[union-attr]
    cursor = re.search(r"cursor=([0-9.e+]+)", leads).group(1)  # type: ignore[union-attr]
    return {
        "overview": "/console/",
        "leads": "/console/leads",
        "leads, next page": f"/console/leads?cursor={cursor}",
        "leads, dead, one source": "/console/leads?status=dead&source=landing",
        "leads, last 24 h": "/console/leads?since=24h&status=delivered",
        "search by phone": "/console/leads?q=%28415%29+205-4321",
        "search by email": "/console/leads?q=Lead54321%40Example.com",
        "one lead": f"/console/leads/{lead_id}",
        "dead letters": "/console/dead",
        "sources": "/console/sources",
        "API docs": "/console/api",
    }


def run(stack: Stack, workdir: Path, leads: int = 100_000, dead: int = 20_000) -> dict:
    """Seed, check the data is there, then p50/p95/max of every page."""
    redis = stack.redis_client()
    redis.flushall()
    sources = workdir / "console-sources.toml"
    sources.write_text(SOURCES)
    result: dict = {"leads": leads, "dead_letters": dead, "seed": seed(stack, sources, leads, dead)}
    held = {"records": redis.zcard("leadrelay:leads"), "dead": redis.zcard("leadrelay:dead")}
    if held != {"records": leads, "dead": dead}:
        raise SystemExit(f"console benchmark: Redis holds {held}, not {leads} leads and {dead} dead letters")
    port = free_port()
    env = {"REDIS_URL": stack.redis.url, "LEADRELAY_SOURCES": str(sources), "LEADRELAY_ADMIN_TOKEN": TOKEN}
    process = serve_production("service:create_app()", env, port, workdir / "console-gunicorn.log")
    base = f"http://127.0.0.1:{port}"
    try:
        session = sign_in(base)
        result["pages"] = {}
        for name, path in pages(base, session).items():
            times = []
            for _ in range(SAMPLES):
                began = time.perf_counter()
                answer = session.get(base + path, timeout=30)
                times.append((time.perf_counter() - began) * 1000)
                if answer.status_code != 200 or "Sign in" in answer.text[:400]:
                    raise SystemExit(f"console benchmark: {path} answered {answer.status_code}")
            times.sort()
            result["pages"][name] = {
                "p50_ms": round(statistics.median(times), 1),
                "p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
                "max_ms": round(times[-1], 1),
                "bytes": len(answer.content),
            }
            print(f"console {name}: {json.dumps(result['pages'][name])}", flush=True)
    finally:
        stop(process)
        redis.flushall()
    result["slowest_p95_ms"] = max(p["p95_ms"] for p in result["pages"].values())
    return result


if __name__ == "__main__":  # python -m tests.benchmarks.console [leads] [dead letters]
    import sys
    import tempfile

    workdir = Path(tempfile.mkdtemp(prefix="leadrelay-bench-"))
    stack = Stack(workdir)
    try:
        sizes = [int(a) for a in sys.argv[1:3]]
        print(json.dumps(run(stack, workdir, *sizes), indent=2))
    finally:
        stack.close()
