"""The `leadrelay` command; every option falls back to an environment variable."""

from __future__ import annotations

import os
import sys

import click
from dotenv import load_dotenv

from service.errors import ConfigError
from service.settings import DEFAULT_WEB_THREADS, DEFAULT_WEB_WORKERS, Settings, mask_url
from service.sources import OPERATOR, load_sources

# Where `leadrelay dev` writes the settings it chose, so commands in other terminals use the same
# Redis, admin token and Callbell URL; the environment wins over the file.
DEFAULT_ENV_FILE = "var/leadrelay.env"


@click.group()
@click.version_option(package_name="leadrelay", prog_name="leadrelay")
@click.pass_context
def main(ctx: click.Context) -> None:
    """leadrelay: turn leads from forms and lead sources into Callbell contacts."""
    env_file = os.environ.get("LEADRELAY_ENV_FILE", DEFAULT_ENV_FILE)
    if ctx.invoked_subcommand != "dev" and env_file and os.path.isfile(env_file):
        load_dotenv(env_file, override=False)


@main.command()
@click.option("--host", envvar="LEADRELAY_HOST", default="0.0.0.0", show_default=True)  # noqa: S104
@click.option("--port", envvar="PORT", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    envvar="WEB_CONCURRENCY",
    default=DEFAULT_WEB_WORKERS,
    show_default=True,
    type=int,
    help="gunicorn worker processes",
)
@click.option(
    "--threads", envvar="LEADRELAY_WEB_THREADS", default=DEFAULT_WEB_THREADS, show_default=True, type=int
)
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Run the HTTP API under gunicorn."""
    from service import create_app
    from service.embedded_redis import port_free
    from service.gunicorn_app import GunicornApp, JsonLogger, production_options, reread_sources_on_hup

    _fail_on_config_error(create_app)
    if not port_free(host, port):
        # Checked here because each gunicorn process binds its own SO_REUSEPORT socket: a second
        # API on the port would otherwise start and quietly take half of the first one's traffic.
        raise click.ClickException(
            f"port {port} on {host} is in use (another leadrelay serve?): stop it or pass --port"
        )
    GunicornApp(
        create_app,
        {
            **production_options(host, port, workers, threads),
            "post_worker_init": reread_sources_on_hup,
            "logger_class": JsonLogger,
        },
        forward_hup=True,
    ).run()


@main.command("check-config")
@click.option(
    "--ping", is_flag=True, help="also check that Redis answers and that Callbell accepts the token"
)
def check_config(ping: bool) -> None:
    """Validate the sources file and the environment, and print a summary (exit 2 on an error)."""
    settings = _fail_on_config_error(Settings.load)
    sources = _fail_on_config_error(lambda: load_sources(settings.sources_path, OPERATOR))
    click.echo(f"sources file: {settings.sources_path or 'embedded sample'}")
    missing = []
    for source in sources.values():
        secret = ""
        if source.secret_env:
            secret = f" secret={source.secret_env}:{'set' if source.secrets else 'NOT SET'}"
            if not source.secrets:
                missing.append(source.secret_env)
        click.echo(
            f"  /v1/leads/{source.name}: preset={source.preset} auth={source.auth}{secret} "
            f"region={source.default_region} tags={','.join(source.tags) or '-'} "
            f"custom_fields={','.join(source.custom_fields) or '-'}"
        )
    click.echo(f"redis: {mask_url(settings.redis_url)}")
    click.echo(
        f"callbell: {settings.callbell_api_url} (token {'set' if settings.callbell_api_token else 'NOT set'})"
    )
    click.echo(
        f"admin API: {'enabled' if settings.admin_token else 'disabled (LEADRELAY_ADMIN_TOKEN not set)'}"
    )
    problems = [f"{name} is not set: `leadrelay serve` will refuse to start" for name in missing]
    if ping:
        problems += _ping(settings)
        problems += _check_followups(settings, sources)
    for problem in problems:
        click.echo(f"problem: {problem}", err=True)
    if problems:
        sys.exit(1)


def _ping(settings: Settings) -> list[str]:
    """Check that Redis answers PING and that Callbell answers GET /auth/me with 200; list what failed."""
    import requests
    from redis import Redis
    from redis.exceptions import RedisError

    found = []
    try:
        Redis.from_url(settings.redis_url, socket_connect_timeout=3, socket_timeout=3).ping()
        click.echo("redis: answers PING")
    except RedisError as exc:
        found.append(f"Redis at REDIS_URL={mask_url(settings.redis_url)} does not answer: {exc}")
    url = f"{settings.callbell_api_url.rstrip('/')}/auth/me"
    headers = (
        {"Authorization": f"Bearer {settings.callbell_api_token}"} if settings.callbell_api_token else {}
    )
    try:
        status = requests.get(url, headers=headers, timeout=(3.05, 10)).status_code
    except requests.RequestException as exc:
        found.append(
            f"Callbell at CALLBELL_API_URL={settings.callbell_api_url} does not answer: {type(exc).__name__}"
        )
    else:
        if status == 200:
            click.echo("callbell: the token is accepted (GET /auth/me 200)")
        else:
            found.append(f"Callbell answers GET /auth/me with {status}: check CALLBELL_API_TOKEN")
    return found


def _check_followups(settings: Settings, sources: dict) -> list[str]:
    """Check that every welcome's template exists and is approved and every routing team exists."""
    import requests

    welcomes = {s.welcome.template_uuid: name for name, s in sources.items() if s.welcome}
    teams = {s.assign.team_uuid: name for name, s in sources.items() if s.assign and s.assign.team_uuid}
    headers = (
        {"Authorization": f"Bearer {settings.callbell_api_token}"} if settings.callbell_api_token else {}
    )
    found = []
    for path, wanted, key in (("/templates", welcomes, "templates"), ("/teams", teams, "teams")):
        if not wanted:
            continue
        try:
            answer = requests.get(
                f"{settings.callbell_api_url.rstrip('/')}{path}", headers=headers, timeout=10
            )
            listed = {item["uuid"]: item for item in answer.json().get(key, [])}
        except (requests.RequestException, ValueError, KeyError, TypeError, AttributeError) as exc:
            found.append(f"Callbell GET {path} gave no list: {type(exc).__name__}")
            continue
        for uuid, source in wanted.items():
            item = listed.get(uuid)
            if item is None:
                found.append(f"sources.{source}: Callbell has no {key[:-1]} {uuid}")
            elif key == "templates" and item.get("status") != "approved":
                found.append(f"sources.{source}: template {uuid} is {item.get('status')!r}, not approved")
            else:
                click.echo(f"callbell: {key[:-1]} {uuid} of sources.{source} is there")
    return found


def _fail_on_config_error(build):  # type: ignore[no-untyped-def]
    """Run `build`, turning a ConfigError into a one-line message and exit status 2."""
    try:
        return build()
    except ConfigError as exc:
        click.echo(f"configuration error: {exc}", err=True)
        sys.exit(2)


def _register_subcommands() -> None:
    """Attach the commands that live beside their code (sandbox, workers)."""
    from sandbox.cli import sandbox
    from service.deadletters_cli import dead_letters, erase_cmd
    from service.dev import dev
    from workers.cli import worker, worker_health  # the entry point composes both layers

    for command in (sandbox, worker, worker_health, dead_letters, erase_cmd, dev):
        main.add_command(command)
    _show_envvars(main)


def _show_envvars(command: click.Command) -> None:
    """Make every option's --help name the environment variable it falls back to."""
    for param in command.params:
        if isinstance(param, click.Option) and param.envvar:
            param.show_envvar = True
    for sub in getattr(command, "commands", {}).values():
        _show_envvars(sub)


_register_subcommands()
