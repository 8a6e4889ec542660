"""`leadrelay sandbox`: serve the Callbell stand-in under gunicorn (one process, many threads)."""

from __future__ import annotations

import click

# One process keeps the contacts in memory; threads let slow answers overlap (300/s at 100 ms = 30).
DEFAULT_THREADS = 128


def _names(_ctx: click.Context, _param: click.Parameter, value: str | None) -> list[str] | None:
    """Split a comma-separated option into names; unset means 'accept any'."""
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


@click.command("sandbox")
@click.option("--host", envvar="SANDBOX_HOST", default="127.0.0.1", show_default=True)
@click.option("--port", envvar="SANDBOX_PORT", default=9090, show_default=True, type=int)
@click.option("--token", envvar="SANDBOX_TOKEN", default="", help="require this Bearer token (default: any)")
@click.option("--latency-ms", envvar="SANDBOX_LATENCY_MS", default=0.0, show_default=True, type=float)
@click.option("--jitter-ms", envvar="SANDBOX_JITTER_MS", default=0.0, show_default=True, type=float)
@click.option("--error-rate", envvar="SANDBOX_ERROR_RATE", default=0.0, show_default=True, type=float)
@click.option("--timeout-rate", envvar="SANDBOX_TIMEOUT_RATE", default=0.0, show_default=True, type=float)
@click.option(
    "--hold-seconds",
    envvar="SANDBOX_HOLD_SECONDS",
    default=30.0,
    show_default=True,
    type=float,
    help="how long a 'timed out' request is held",
)
@click.option("--rps-limit", envvar="SANDBOX_RPS_LIMIT", default=300, show_default=True, type=int)
@click.option(
    "--tags", envvar="SANDBOX_TAGS", callback=_names, help="known tags, comma-separated (default: any)"
)
@click.option(
    "--custom-fields",
    envvar="SANDBOX_CUSTOM_FIELDS",
    callback=_names,
    help="known custom fields, comma-separated (default: any)",
)
@click.option("--users", envvar="SANDBOX_USERS", callback=_names, help="known user emails (default: any)")
@click.option(
    "--duplicate-contacts",
    envvar="SANDBOX_DUPLICATE_CONTACTS",
    is_flag=True,
    help="a second POST /contacts for a known phone creates a second contact (worst case)",
)
@click.option("--threads", envvar="SANDBOX_THREADS", default=DEFAULT_THREADS, show_default=True, type=int)
def sandbox(host: str, port: int, threads: int, **config: object) -> None:
    """Run a local stand-in for Callbell's contacts API, with fault injection."""
    from sandbox.app import create_sandbox_app
    from service.gunicorn_app import GunicornApp

    click.echo(f"Callbell sandbox on http://{host}:{port}/v1 (inspect: /_sandbox/stats, /_sandbox/contacts)")
    GunicornApp(
        lambda: create_sandbox_app(dict(config)),
        {
            "bind": f"{host}:{port}",
            "workers": 1,
            "threads": threads,
            "worker_class": "gthread",
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            "timeout": 120,
            "worker_connections": 2000,
        },
    ).run()
