from __future__ import annotations

from pathlib import Path

import pytest

from scraper.config import load_config, parse_duration
from scraper.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_shipped_config_loads_with_both_sources() -> None:
    config = load_config(ROOT / "config" / "scraper.toml", env={})
    assert set(config.sources) == {"yonhap", "koreaherald"}
    assert config.sources["yonhap"].base_url == "https://en.yna.co.kr"
    assert config.sources["koreaherald"].base_url == "https://www.koreaherald.com"
    assert config.http.timeout == 20 and config.http.max_retries == 4
    assert "kr-news-archiver" in config.http.user_agent


def test_precedence_file_env_flag(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[archive]\npath = "from-file"\n[sources.yonhap]\ninterval = "10m"\n')
    assert load_config(cfg, env={}).archive.path == Path("from-file")
    env = {"SCRAPER_ARCHIVE": "from-env", "SCRAPER_YONHAP_BASE_URL": "http://127.0.0.1:9"}
    config = load_config(cfg, env=env)
    assert config.archive.path == Path("from-env")
    assert config.sources["yonhap"].base_url == "http://127.0.0.1:9"
    assert config.sources["yonhap"].interval == 600
    assert load_config(cfg, env=env, archive="from-flag").archive.path == Path("from-flag")


def test_env_names_the_config_file(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[http]\ntimeout = 3\n")
    assert load_config(None, env={"SCRAPER_CONFIG": str(cfg)}).http.timeout == 3


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[sources.bbc]\nenabled = true\n", "unknown source 'bbc'"),
        ('[sources.yonhap]\ninterval = "soon"\n', "sources.yonhap.interval"),
        ("[sources.yonhap]\ninterval = -5\n", "must be positive"),
        ('[sources.yonhap]\nbase_url = "ftp://x"\n', "base_url must be an http(s) URL"),
        ('[http]\ntimeout = "fast"\n', "http.timeout must be float"),
        ("[http]\ntimout = 3\n", "unknown key http.timout"),
        ("[archive\n", "invalid TOML"),
    ],
)
def test_config_errors_are_one_clear_line(tmp_path: Path, text: str, fragment: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(cfg, env={})
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[http]\ntimeout = 0\nmax_retries = -1\n[sources.yonhap]\ninterval = "x"\n')
    with pytest.raises(ConfigError) as info:
        load_config(cfg, env={})
    message = str(info.value)
    assert "http.timeout" in message and "max_retries" in message and "interval" in message


def test_missing_explicit_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml", env={})


@pytest.mark.parametrize(
    ("value", "seconds"), [(600, 600), ("90", 90), ("10m", 600), ("1.5h", 5400)]
)
def test_durations(value: object, seconds: float) -> None:
    assert parse_duration(value, "x") == seconds
