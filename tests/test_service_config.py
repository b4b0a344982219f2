"""The `[service]` config keys: defaults, validation (every problem listed), environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from scraper.config import ServiceConfig, build_config, load_config
from scraper.errors import ConfigError


def test_service_defaults_match_the_shipped_config() -> None:
    shipped = load_config(Path(__file__).parent.parent / "config/scraper.toml", env={})
    assert shipped.service == ServiceConfig()
    assert ServiceConfig().health_port == 0 and ServiceConfig().stop_grace <= 8


def test_service_keys_are_validated_together() -> None:
    with pytest.raises(ConfigError) as err:
        build_config(
            {
                "service": {
                    "stop_grace": 30,
                    "failure_threshold": 0,
                    "backoff_max": "soon",
                    "health_port": -1,
                    "log_format": "xml",
                    "poll": 1,
                }
            },
            Path("s.toml"),
        )
    lines = err.value.lines()
    assert len(lines) == 6, lines
    assert all(line.endswith("(s.toml)") for line in lines)
    joined = "\n".join(lines)
    for key in ("stop_grace", "failure_threshold", "backoff_max", "health_port", "log_format"):
        assert f"service.{key}" in joined
    assert "unknown key service.poll" in joined


def test_durations_and_environment(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[service]\nbackoff_max = "2h"\nhealth_port = 9000\nstop_grace = 3\n')
    config = load_config(cfg, env={})
    assert config.service.backoff_max == 7200 and config.service.health_port == 9000
    assert config.service.stop_grace == 3.0
    assert load_config(cfg, env={"SCRAPER_HEALTH_PORT": "9108"}).service.health_port == 9108
    with pytest.raises(ConfigError, match=r"service\.health_port must be int"):
        load_config(cfg, env={"SCRAPER_HEALTH_PORT": "nine"})
