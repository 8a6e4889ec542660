"""The sources file: a bad file stops start-up naming the file, the key and the reason."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from service import create_app
from service.cli import main
from service.errors import ConfigError
from service.sources import load_sources


def test_embedded_sample_loads():
    sources = load_sources("")
    assert {"website", "json"} <= set(sources)
    assert sources["website"].preset == "form"


P = 'preset = "json"\n'
A = 'auth = "none"\n'


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('[sources.a]\npreset = "carrier-pigeon"\n' + A, "sources.a.preset: Must be one of"),
        ("[sources.a]\n" + P + 'auth = "api_key"\n', "sources.a.secret_env: auth 'api_key' needs secret_env"),
        (
            "[sources.a]\n" + P + 'auth = "api_key"\nsecret_env = "UNSET_SECRET_FOR_TEST"\n',
            "environment variable UNSET_SECRET_FOR_TEST is not set",
        ),
        ('[defaults]\ndefault_region = "XX"\n[sources.a]\n' + P + A, "defaults.default_region: 'XX' is not"),
        ("[sources.a]\n" + P + A + 'fields = { telephone = "x" }\n', "sources.a.fields"),
        ("[sources.a]\n" + P + A + 'colour = "red"\n', "sources.a.colour: Unknown field"),
        ("[defaults]\n", "sources: Missing data for required field"),
        ("[sources.a\n", "not valid TOML"),
        # Fail closed: nothing is accepted from anyone, or read as JSON, unless the file says so.
        ("[sources.a]\n" + P, "sources.a.auth: Missing data for required field"),
        ("[sources.a]\n" + A, "sources.a.preset: Missing data for required field"),
        ("[sources.a]\n" + P + A + 'secret_env = "A_KEY"\n', "auth 'none' checks no secret"),
    ],
)
def test_bad_file_names_file_key_and_reason(write_sources, text, reason):
    path = write_sources(text)
    with pytest.raises(ConfigError) as err:
        load_sources(path)
    assert str(err.value).startswith(path)
    assert reason in str(err.value)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="cannot be read"):
        load_sources(str(tmp_path / "absent.toml"))


def test_app_refuses_to_start_on_a_bad_file(write_sources, redis_server):
    with pytest.raises(ConfigError, match="preset"):
        create_app(
            {"sources_path": write_sources('[sources.a]\npreset = "x"\n'), "redis_url": redis_server.url}
        )


def test_bad_setting_is_named():
    with pytest.raises(ConfigError, match="LEADRELAY_MAX_BODY_BYTES"):
        create_app({"max_body_bytes": "lots"})


def test_check_config_prints_a_summary(write_sources, monkeypatch):
    monkeypatch.setenv(
        "LEADRELAY_SOURCES",
        write_sources('[sources.shop]\npreset = "form"\nauth = "none"\ntags = ["Shop"]\n'),
    )
    result = CliRunner().invoke(main, ["check-config"])
    assert result.exit_code == 0, result.output
    assert "/v1/leads/shop: preset=form auth=none" in result.output
    assert "tags=Shop" in result.output


def test_check_config_fails_with_exit_2(write_sources, monkeypatch):
    monkeypatch.setenv("LEADRELAY_SOURCES", write_sources('[sources.shop]\nauth = "nope"\n'))
    result = CliRunner().invoke(main, ["check-config"])
    assert result.exit_code == 2
    assert "sources.shop.auth" in result.output


def test_every_error_in_the_file_is_listed_and_a_bad_region_names_a_few_good_ones(write_sources):
    path = write_sources(
        '[defaults]\ndefault_region = "XX"\n[sources.a]\npreset = "json"\n[sources.b]\nauth = "none"\n'
    )
    with pytest.raises(ConfigError) as err:
        load_sources(path)
    lines = str(err.value).splitlines()
    assert lines == [
        f"{path}: defaults.default_region: 'XX' is not a region code; "
        "use two letters, e.g. US, GB, BR, DE, IN",
        f"{path}: sources.a.auth: Missing data for required field.",
        f"{path}: sources.b.preset: Missing data for required field.",
    ]


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("REDIS_URL", "localhost:6379", "REDIS_URL: 'localhost:6379' is not a redis, rediss or unix URL"),
        (
            "CALLBELL_API_URL",
            "api.callbell.eu",
            "CALLBELL_API_URL: 'api.callbell.eu' is not a https or http URL",
        ),
        ("REDIS_URL", "redis://:s3cret-value@/0", "REDIS_URL: 'redis://:***@/0' names no host"),
    ],
)
def test_a_bad_url_setting_stops_every_command_in_one_line(monkeypatch, name, value, reason):
    monkeypatch.setenv(name, value)
    for args in (["check-config"], ["serve"], ["worker"], ["dead-letters", "list"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, (args, result.output)
        assert result.output.strip().startswith(f"configuration error: {reason}")
        assert len(result.output.strip().splitlines()) == 1
        assert "Traceback" not in result.output
