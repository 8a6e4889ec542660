"""What an operator sees of the `leadrelay` command: version, help, check-config, and its log lines."""

from __future__ import annotations

import json

from click.testing import CliRunner

from service.cli import main
from tests.helpers import configure


def test_version_and_every_option_names_its_environment_variable():
    runner = CliRunner()
    assert runner.invoke(main, ["--version"]).output.startswith("leadrelay, version ")
    for command in (["serve"], ["worker"], ["dev"], ["sandbox"]):
        shown = runner.invoke(main, [*command, "--help"]).output
        assert "env var:" in shown, command
    assert "env var: WEB_CONCURRENCY" in runner.invoke(main, ["serve", "--help"]).output


def test_check_config_ping_checks_redis_and_the_callbell_token(monkeypatch, redis_server, sandbox):
    configure(sandbox, token="the-right-key")
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    monkeypatch.setenv("CALLBELL_API_URL", f"{sandbox}/v1")
    monkeypatch.setenv("CALLBELL_API_TOKEN", "the-right-key")
    good = CliRunner().invoke(main, ["check-config", "--ping"])
    assert good.exit_code == 0, good.output
    assert "redis: answers PING" in good.output
    assert "callbell: the token is accepted" in good.output
    monkeypatch.setenv("CALLBELL_API_TOKEN", "a-wrong-key")
    bad = CliRunner().invoke(main, ["check-config", "--ping"])
    assert bad.exit_code == 1
    assert "Callbell answers GET /auth/me with 401: check CALLBELL_API_TOKEN" in bad.output


def test_check_config_ping_checks_welcome_templates_and_routing_teams(
    monkeypatch, redis_server, sandbox, write_sources
):
    sources = """
[defaults]
channel_uuid = "chan-whatsapp"
[sources.web]
preset = "form"
auth = "none"
[sources.web.welcome]
template_uuid = "tpl-welcome"
consent = "assumed"
[sources.web.assign]
team_uuid = "sales"
"""
    monkeypatch.setenv("LEADRELAY_SOURCES", write_sources(sources))
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    monkeypatch.setenv("CALLBELL_API_URL", f"{sandbox}/v1")
    configure(sandbox, teams={"sales": []})
    good = CliRunner().invoke(main, ["check-config", "--ping"])
    assert good.exit_code == 0, good.output
    assert "template tpl-welcome of sources.web is there" in good.output
    configure(sandbox, teams={}, templates=[{"uuid": "tpl-welcome", "status": "pending"}])
    bad = CliRunner().invoke(main, ["check-config", "--ping"])
    assert bad.exit_code == 1
    assert "sources.web: template tpl-welcome is 'pending', not approved" in bad.output
    assert "sources.web: Callbell has no team sales" in bad.output


def test_check_config_says_which_sender_secret_is_missing(monkeypatch, write_sources):
    sources = '[sources.zap]\npreset = "json"\nauth = "api_key"\nsecret_env = "UNSET_ZAP_KEY"\n'
    monkeypatch.setenv("LEADRELAY_SOURCES", write_sources(sources))
    result = CliRunner().invoke(main, ["check-config"])
    assert result.exit_code == 1
    assert "secret=UNSET_ZAP_KEY:NOT SET" in result.output
    assert "UNSET_ZAP_KEY is not set: `leadrelay serve` will refuse to start" in result.output


def test_worker_log_is_json_without_routine_maintenance_lines(start_worker, tmp_path):
    import time

    from tests.conftest import wait_for

    start_worker()
    log = tmp_path / "worker.log"
    wait_for(lambda: log.exists() and "Listening on" in log.read_text())
    time.sleep(12)  # past a maintenance pass (every 10 s)
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is JSON
    assert not [r for r in records if "cleaning registries" in r["message"]]
