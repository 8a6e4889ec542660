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


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('[sources.a]\npreset = "carrier-pigeon"\n', "sources.a.preset: Must be one of"),
        ('[sources.a]\nauth = "api_key"\n', "sources.a.secret_env: auth 'api_key' needs secret_env"),
        (
            '[sources.a]\nauth = "api_key"\nsecret_env = "UNSET_SECRET_FOR_TEST"\n',
            "environment variable UNSET_SECRET_FOR_TEST is not set",
        ),
        ('[defaults]\ndefault_region = "XX"\n[sources.a]\n', "defaults.default_region: Must be one of"),
        ('[sources.a]\nfields = { telephone = "x" }\n', "sources.a.fields"),
        ('[sources.a]\ncolour = "red"\n', "sources.a.colour: Unknown field"),
        ("[defaults]\n", "sources: Missing data for required field"),
        ("[sources.a\n", "not valid TOML"),
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
        "LEADRELAY_SOURCES", write_sources('[sources.shop]\npreset = "form"\ntags = ["Shop"]\n')
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
