"""Tools the chaos tests share: posting leads as a sender does, killing busy workers, checking outcomes."""

from __future__ import annotations

import signal
import threading
import time

from tests import procs
from tests.conftest import wait_for
from tests.helpers import contacts


def phone(n: int) -> str:
    return f"+1415555{n:04d}"


def post_many(client, count: int, start: int = 0) -> list[str]:
    """Post `count` leads with distinct phones; return their lead ids (every answer must be 202)."""
    ids = []
    for n in range(start, start + count):
        response = client.post("/v1/leads/website", data={"name": f"Lead {n}", "phone": phone(n)})
        assert response.status_code == 202, response.get_json()
        ids.append(response.get_json()["lead_id"])
    return ids


def statuses(redis, lead_ids: list[str]) -> list[str]:
    with redis.pipeline(transaction=False) as pipe:
        for lead_id in lead_ids:
            pipe.hget(f"leadrelay:lead:{lead_id}", "status")
        return [(s or b"missing").decode() for s in pipe.execute()]


def all_delivered(redis, lead_ids: list[str], timeout: float) -> None:
    """Wait until every lead is delivered; fail naming what the others are."""
    try:
        wait_for(lambda: set(statuses(redis, lead_ids)) == {"delivered"}, timeout=timeout, interval=0.5)
    except AssertionError:
        found = statuses(redis, lead_ids)
        raise AssertionError({s: found.count(s) for s in set(found)}) from None


def assert_one_contact_per_lead(sandbox: str, count: int) -> None:
    phones = [c["phoneNumber"] for c in contacts(sandbox)]
    assert len(phones) == count
    assert len(set(phones)) == count  # no duplicate contact


class LeadFlow:
    """New leads posted one after another in a thread, as a sender does: a 503 is retried."""

    def __init__(self, client, pause: float):
        self.client, self.pause = client, pause
        self.accepted: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._post, daemon=True)
        self._thread.start()

    def _post(self) -> None:
        n = 0
        while not self._stop.is_set():
            response = self.client.post("/v1/leads/website", data={"name": f"Lead {n}", "phone": phone(n)})
            if response.status_code in (200, 202):  # 200: a retry of a lead stored before a 503
                self.accepted.append(response.get_json()["lead_id"])
                n += 1
            else:  # the sender retries the same lead, as senders do after a 503
                assert response.status_code == 503, response.get_json()
                time.sleep(0.05)
            time.sleep(self.pause)

    def stop(self) -> list[str]:
        """Stop posting; return the ids of the leads accepted."""
        self._stop.set()
        self._thread.join()
        return self.accepted


def busy_worker(redis, workers: list) -> object | None:
    """The started worker process that RQ says is in the middle of a delivery, if any."""
    from rq import Worker

    busy = {w.pid for w in Worker.all(connection=redis) if w.get_state() == "busy"}
    return next((p for p in workers if p.pid in busy), None)


def kill_mid_delivery(redis, workers: list, start_worker) -> None:
    """SIGKILL a worker that is delivering a lead (waiting a moment for one), and start a new one."""
    victim = wait_for(lambda: busy_worker(redis, workers), timeout=10, interval=0.02)
    workers.remove(victim)
    procs.stop(victim, sig=signal.SIGKILL)
    workers.append(start_worker())
