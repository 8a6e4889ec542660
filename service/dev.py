"""`leadrelay dev`: the whole system on one machine, on embedded defaults, stopped by Ctrl-C."""

from __future__ import annotations

import fcntl
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import click
import requests

from service.embedded_redis import EmbeddedRedis, port_free
from service.errors import ConfigError
from service.sources import OPERATOR, Source, load_sources

# What the dev run chose, for `leadrelay` commands in other terminals (read by service.cli).
ENV_FILE_NAME = "leadrelay.env"
DEFAULT_REDIS_PORT = 6390  # a fixed port beside Redis's own 6379, so the address is the same every run
SAMPLE_FORM = "name=Ada+Lovelace&phone=%2B1+415+555+0100&email=ada%40example.com"
SAMPLE_JSON = '{"name": "Ada Lovelace", "phone": "+1 415 555 0100", "email": "ada@example.com"}'


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


def _claim(home: Path) -> IO[str]:
    """Hold a lock for this directory's dev run; refuse at once if another run holds it."""
    home.mkdir(parents=True, exist_ok=True)
    lock = open(home / "dev.lock", "w")  # noqa: SIM115 (held open for the whole run)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        raise click.ClickException(
            f"leadrelay dev is already running from this directory ({home / ENV_FILE_NAME} says "
            "where); stop it with Ctrl-C in its terminal first"
        ) from None
    return lock


def _write_env_file(path: Path, env: dict[str, str]) -> None:
    """Write the settings this run chose, readable only by this user (it holds the admin token)."""
    names = ("REDIS_URL", "CALLBELL_API_URL", "LEADRELAY_ADMIN_TOKEN", "LEADRELAY_SOURCES")
    lines = [f"# written by leadrelay dev (pid {os.getpid()}); removed when it stops"]
    lines += [f"{name}={env[name]}" for name in names if env.get(name)]
    path.touch(mode=0o600)
    path.write_text("\n".join(lines) + "\n")


def _sources_or_exit(path: str) -> dict[str, Source]:
    """The sources file the run will use, checked before anything starts."""
    try:
        return load_sources(path, OPERATOR)
    except ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from None


@click.command("dev")
@click.option("--port", envvar="PORT", default=8000, show_default=True, type=int, help="API port")
@click.option(
    "--sandbox-port",
    envvar="SANDBOX_PORT",
    default=9090,
    show_default=True,
    type=int,
    help="Callbell sandbox port",
)
@click.option(
    "--redis-port",
    envvar="LEADRELAY_DEV_REDIS_PORT",
    default=DEFAULT_REDIS_PORT,
    show_default=True,
    type=int,
    help="embedded Redis port",
)
@click.option(
    "--data-dir",
    envvar="LEADRELAY_DATA_DIR",
    default="var",
    show_default=True,
    help=f"Redis data, and {ENV_FILE_NAME} for other terminals",
)
def dev(port: int, sandbox_port: int, redis_port: int, data_dir: str) -> None:
    """Run Redis, the Callbell sandbox, the API and a worker together until Ctrl-C."""
    env = dict(os.environ)
    home = Path(data_dir)
    lock = _claim(home)
    try:
        sources = _sources_or_exit(env.get("LEADRELAY_SOURCES", ""))
        wanted = [("--port", port)]
        wanted += [] if env.get("CALLBELL_API_TOKEN") else [("--sandbox-port", sandbox_port)]
        wanted += [] if env.get("REDIS_URL") else [("--redis-port", redis_port)]
        for option, busy in wanted:
            if not port_free("127.0.0.1", busy):
                raise click.ClickException(
                    f"port {busy} is in use by another program: stop it or pass {option}"
                )
        _run(env, home, port, sandbox_port, redis_port, sources)
    finally:
        lock.close()


def _run(
    env: dict[str, str], home: Path, port: int, sandbox_port: int, redis_port: int, sources: dict[str, Source]
) -> None:
    """Start everything, print the banner, and stop everything on Ctrl-C (or when a part exits)."""
    # `docker stop`, `kill` and a closed terminal stop the whole system as cleanly as Ctrl-C does.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.default_int_handler)
    env_file = home / ENV_FILE_NAME
    redis = None
    children: list[subprocess.Popen[bytes]] = []
    try:
        if not env.get("REDIS_URL"):
            redis = EmbeddedRedis(home / "redis", port=redis_port).start()
            env["REDIS_URL"] = redis.url
            click.echo(f"redis:    {redis.url} (embedded, data in {home}/redis)")
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
        _write_env_file(env_file, env)
        _banner(port, sandbox_port, env, env_file, sources)
        while all(c.poll() is None for c in children):
            time.sleep(0.5)
        click.echo("a process exited; stopping everything", err=True)
    except KeyboardInterrupt:
        click.echo("\nstopping...")
    finally:
        env_file.unlink(missing_ok=True)
        _stop(children)
        if redis:
            redis.stop()


def _sample_post(api: str, sources: dict[str, Source]) -> str:
    """A curl that posts a sample lead to a source of the file in use, with what it needs."""
    for source in sources.values():
        if source.preset not in ("form", "json") or source.auth not in ("none", "api_key"):
            continue
        url = f"{api}/v1/leads/{source.name}"
        key = f' -H "X-Api-Key: ${source.secret_env}"' if source.auth == "api_key" else ""
        if source.preset == "form":
            return f"curl -i -X POST {url}{key} -d '{SAMPLE_FORM}'"
        return f"curl -i -X POST {url}{key} -H 'Content-Type: application/json' -d '{SAMPLE_JSON}'"
    return "(no form or json source in the sources file: post a lead as your sender would)"


def _banner(port: int, sandbox_port: int, env: dict[str, str], env_file: Path, sources: dict) -> None:
    """Print where everything is, a curl that posts a lead, and how other terminals find this run."""
    api = f"http://127.0.0.1:{port}"
    token = env["LEADRELAY_ADMIN_TOKEN"]
    click.echo(f"""
leadrelay is running. API: {api}   sources: {env.get("LEADRELAY_SOURCES") or "embedded sample"}

Post a lead:
  {_sample_post(api, sources)}

Console: {api}/console/ (sign in with the admin token of this run)

Look at it (admin token for this run: {token}):
  curl -s {api}/v1/leads/<lead_id> -H 'Authorization: Bearer {token}'
  curl -s {api}/v1/dead-letters -H 'Authorization: Bearer {token}'""")
    if "127.0.0.1" in env.get("CALLBELL_API_URL", ""):
        click.echo(f"  curl -s http://127.0.0.1:{sandbox_port}/_sandbox/contacts")
    click.echo(f"""
Other terminals: `leadrelay` commands run from this directory read {env_file}
(Redis, admin token, Callbell URL), e.g. `.venv/bin/leadrelay dead-letters list`.

Ctrl-C stops everything started here.""")
