"""`leadrelay dev`: the whole system on one machine, on embedded defaults, stopped by Ctrl-C."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import requests

from service.embedded_redis import EmbeddedRedis, free_port

SAMPLE_LEAD = "name=Ada+Lovelace&phone=%2B1+415+555+0100&email=ada%40example.com"


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start `leadrelay ARGS` in its own process group, so Ctrl-C reaches only this supervisor."""
    exe = str(Path(sys.executable).with_name("leadrelay"))
    return subprocess.Popen([exe, *args], env=env, start_new_session=True)


def _wait(url: str, children: list[subprocess.Popen[bytes]], timeout: float = 30.0) -> None:
    """Wait until `url` answers 200, or stop if a child died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(c.poll() is not None for c in children):
            raise click.ClickException("a process exited during start-up; see the messages above")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise click.ClickException(f"{url} did not answer within {timeout:.0f}s")


def _stop(children: list[subprocess.Popen[bytes]]) -> None:
    """Stop children newest first (API, worker, then the sandbox they talk to); SIGKILL stragglers."""
    for child in reversed(children):
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
        try:
            child.wait(20)  # a worker finishes the delivery it is in
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()


@click.command("dev")
@click.option("--port", envvar="PORT", default=8000, show_default=True, type=int)
@click.option("--sandbox-port", envvar="SANDBOX_PORT", default=9090, show_default=True, type=int)
@click.option(
    "--data-dir",
    envvar="LEADRELAY_DATA_DIR",
    default="var",
    show_default=True,
    help="where the embedded Redis keeps its data",
)
def dev(port: int, sandbox_port: int, data_dir: str) -> None:
    """Run Redis, the Callbell sandbox, the API and a worker together until Ctrl-C."""
    # `docker stop`, `kill` and a closed terminal stop the whole system as cleanly as Ctrl-C does.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.default_int_handler)
    env = dict(os.environ)
    redis = None
    children: list[subprocess.Popen[bytes]] = []
    try:
        if not env.get("REDIS_URL"):
            redis = EmbeddedRedis(Path(data_dir) / "redis", port=free_port()).start()
            env["REDIS_URL"] = redis.url
            click.echo(f"redis:    {redis.url} (embedded, data in {data_dir}/redis)")
        else:
            click.echo(f"redis:    {env['REDIS_URL']}")
        if not env.get("CALLBELL_API_TOKEN"):
            children.append(_spawn(["sandbox", "--port", str(sandbox_port)], env))
            env["CALLBELL_API_URL"] = f"http://127.0.0.1:{sandbox_port}/v1"
            _wait(f"http://127.0.0.1:{sandbox_port}/healthz", children)
            click.echo(
                f"callbell: sandbox at {env['CALLBELL_API_URL']} (set CALLBELL_API_TOKEN for the real API)"
            )
        else:
            click.echo(f"callbell: {env.get('CALLBELL_API_URL', 'https://api.callbell.eu/v1')}")
        env.setdefault("LEADRELAY_ADMIN_TOKEN", secrets.token_urlsafe(16))
        children.append(_spawn(["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"], env))
        children.append(_spawn(["worker"], env))
        _wait(f"http://127.0.0.1:{port}/readyz", children)
        _banner(port, sandbox_port, env)
        while all(c.poll() is None for c in children):
            time.sleep(0.5)
        click.echo("a process exited; stopping everything", err=True)
    except KeyboardInterrupt:
        click.echo("\nstopping...")
    finally:
        _stop(children)
        if redis:
            redis.stop()


def _banner(port: int, sandbox_port: int, env: dict[str, str]) -> None:
    """Print where everything is and a curl that posts a lead."""
    api = f"http://127.0.0.1:{port}"
    token = env["LEADRELAY_ADMIN_TOKEN"]
    click.echo(f"""
leadrelay is running. API: {api}   sources: {env.get("LEADRELAY_SOURCES") or "embedded sample"}

Post a lead:
  curl -i -X POST {api}/v1/leads/website -d '{SAMPLE_LEAD}'

Look at it (admin token for this run: {token}):
  curl -s {api}/v1/leads/<lead_id> -H 'Authorization: Bearer {token}'
  curl -s {api}/v1/dead-letters -H 'Authorization: Bearer {token}'""")
    if "127.0.0.1" in env.get("CALLBELL_API_URL", ""):
        click.echo(f"  curl -s http://127.0.0.1:{sandbox_port}/_sandbox/contacts")
    click.echo("\nCtrl-C stops everything started here.")
