"""The `leadrelay` command; every option falls back to an environment variable."""

from __future__ import annotations

import os
import sys

import click
from dotenv import load_dotenv

from service.errors import ConfigError
from service.settings import Settings
from service.sources import load_sources

# Where `leadrelay dev` writes the settings it chose, so commands in other terminals use the same
# Redis, admin token and Callbell URL; the environment wins over the file.
DEFAULT_ENV_FILE = "var/leadrelay.env"


@click.group()
@click.version_option(package_name="leadrelay")
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
    default=2,
    show_default=True,
    type=int,
    help="gunicorn worker processes",
)
@click.option("--threads", envvar="LEADRELAY_WEB_THREADS", default=4, show_default=True, type=int)
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Run the HTTP API under gunicorn."""
    from service import create_app
    from service.gunicorn_app import GunicornApp, reread_sources_on_hup

    _fail_on_config_error(create_app)
    GunicornApp(
        create_app,
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "accesslog": None,
            "errorlog": "-",
            "worker_tmp_dir": "/dev/shm",  # noqa: S108 (tmpfs heartbeat file, as gunicorn advises)
            "graceful_timeout": 30,
            "post_worker_init": reread_sources_on_hup,
        },
        forward_hup=True,
    ).run()


@main.command("check-config")
def check_config() -> None:
    """Validate the sources file and the environment, and print a summary."""
    settings = _fail_on_config_error(Settings.load)
    sources = _fail_on_config_error(lambda: load_sources(settings.sources_path))
    click.echo(f"sources file: {settings.sources_path or 'embedded sample'}")
    for source in sources.values():
        click.echo(
            f"  /v1/leads/{source.name}: preset={source.preset} auth={source.auth} "
            f"region={source.default_region} tags={','.join(source.tags) or '-'} "
            f"custom_fields={','.join(source.custom_fields) or '-'}"
        )
    click.echo(
        f"callbell: {settings.callbell_api_url} (token {'set' if settings.callbell_api_token else 'NOT set'})"
    )
    click.echo(
        f"admin API: {'enabled' if settings.admin_token else 'disabled (LEADRELAY_ADMIN_TOKEN not set)'}"
    )


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
    from service.deadletters_cli import dead_letters
    from service.dev import dev
    from workers.cli import worker  # the entry point composes both layers

    for command in (sandbox, worker, dead_letters, dev):
        main.add_command(command)


_register_subcommands()
