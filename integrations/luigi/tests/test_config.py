"""Where the settings come from: BEARING_* > [bearing] in luigi.cfg > OPENLINEAGE_* > defaults."""

from __future__ import annotations

import luigi.configuration
import pytest

from bearing_luigi import config


@pytest.fixture
def luigi_cfg(tmp_path):
    parser = luigi.configuration.get_config()
    path = tmp_path / "luigi.cfg"

    def write(body: str) -> None:
        path.write_text(body)
        parser.add_config_path(str(path))

    yield write
    if str(path) in parser._config_paths:
        parser._config_paths.remove(str(path))
    if parser.has_section("bearing"):
        parser.remove_section("bearing")
    parser.reload()


def test_defaults():
    s = config.load({})
    assert s.url is None and s.namespace == "luigi" and s.timeout == 3.0 and s.retries == 0
    assert s.breaker_cooldown == 60.0 and s.enabled is True and not s.uses_client_credentials


def test_luigi_cfg_section(luigi_cfg):
    luigi_cfg(
        "[bearing]\nurl = https://bearing.example/base/\ntoken = t\nnamespace = etl\ntimeout = 1.5\n"
        "client_id = c\nclient_secret = s\ntoken_url = https://idp.example/token\nenabled = yes\n"
    )
    s = config.load({})
    assert s.url == "https://bearing.example/base"
    assert (s.token, s.namespace, s.timeout, s.enabled) == ("t", "etl", 1.5, True)
    assert s.uses_client_credentials


def test_environment_overrides_cfg_and_openlineage_is_a_fallback(luigi_cfg):
    luigi_cfg("[bearing]\nurl = http://cfg\nnamespace = from-cfg\n")
    env = {"BEARING_URL": "http://env", "OPENLINEAGE_URL": "http://ol", "OPENLINEAGE_API_KEY": "olkey"}
    s = config.load(env)
    assert s.url == "http://env" and s.namespace == "from-cfg" and s.token == "olkey"
    assert config.load({"OPENLINEAGE_URL": "http://ol"}).url == "http://cfg"


def test_openlineage_fallbacks_alone():
    s = config.load({"OPENLINEAGE_URL": "http://ol/", "OPENLINEAGE_API_KEY": "k", "OPENLINEAGE_NAMESPACE": "n"})
    assert (s.url, s.token, s.namespace) == ("http://ol", "k", "n")


def test_bad_values_fall_back_to_defaults(caplog):
    s = config.load({"BEARING_TIMEOUT": "soon", "BEARING_ENABLED": "maybe", "BEARING_RETRIES": "-1", "BEARING_URL": "http://x"})
    assert s.timeout == 3.0 and s.enabled is True and s.retries == 0 and s.url == "http://x"
    assert sum("ignoring setting" in r.getMessage() for r in caplog.records) == 3


def test_disabled_by_environment():
    assert config.load({"BEARING_ENABLED": "false", "BEARING_URL": "http://x"}).enabled is False
