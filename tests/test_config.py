from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scraper.config import load_config, parse_duration
from scraper.errors import ConfigError
from tests.conftest import run_cli

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


# Issue 9, item 14: values of the right syntax but the wrong type or range used to be accepted
# (or to crash later with "internal error"); each is now one line naming the key.
@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("[http]\nmax_redirects = -1\n", "http.max_redirects must be 0 or more, got -1"),
        ("[http]\nbackoff_base = -2\n", "http.backoff_base must be positive, got -2"),
        ("[service]\njitter = -5\n", "service.jitter must be 0 or more, got -5"),
        ("[archive]\nwarc_max_bytes = 0\n", "archive.warc_max_bytes must be 1048576 or more"),
        ("[http]\ntimeout = nan\n", "http.timeout must be a finite number, got nan"),
        ("[http]\nbackoff_max = inf\n", "http.backoff_max must be a finite number, got inf"),
        ("[sources.yonhap]\ninterval = inf\n", "sources.yonhap.interval must be a finite number"),
        ("[http]\nmax_retries = true\n", "http.max_retries must be a number, got true"),
        ("sources = 5\n", "sources must be a table, got 5"),
        ("archive = 3\n", "archive must be a table, got 3"),
        ('http = "timeout"\n', "http must be a table, got 'timeout'"),
        ('http = "x"\n', "http must be a table, got 'x'"),
        ("[sources]\nyonhap = 1\n", "sources.yonhap must be a table, got 1"),
        ("[servce]\nx = 1\n", "unknown table [servce]"),
        ('[service]\nlog_format = "xml"\n', "service.log_format must be 'text' or 'json'"),
        ('[http]\nuser_agent = "  "\n', "http.user_agent must not be empty"),
        ("[archive]\npath = 3\n", "archive.path must be str (a path), got 3"),
    ],
)
def test_types_and_ranges_come_from_the_schema(tmp_path: Path, text: str, line: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(cfg, env={})
    assert [p for p in info.value.lines() if line in p], info.value.lines()
    assert all(p.endswith(f"({cfg})") for p in info.value.lines())


def test_all_problems_of_the_issue_at_once(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        "[http]\nmax_redirects = -1\nbackoff_base = -2\ntimeout = nan\nbackoff_max = inf\n"
        "[archive]\nwarc_max_bytes = 0\n[service]\njitter = -5\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(cfg, env={"SCRAPER_YONHAP_ENABLED": "maybe"})
    keys = [line.split(" ")[0] for line in info.value.lines()]
    assert sorted(keys) == sorted(
        [
            "http.max_redirects",
            "http.backoff_base",
            "http.timeout",
            "http.backoff_max",
            "archive.warc_max_bytes",
            "service.jitter",
            "sources.yonhap.enabled",
        ]
    )


def test_a_config_file_that_is_not_utf8_is_one_clear_error(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_bytes(b'[http]\nuser_agent = "caf\xe9"\n')
    with pytest.raises(ConfigError, match=r"not UTF-8 text \(byte 0xe9 at offset 24\)"):
        load_config(cfg, env={})


@pytest.mark.parametrize(
    ("env", "check"),
    [
        ({"SCRAPER_YONHAP_ENABLED": "no"}, lambda c: c.sources["yonhap"].enabled is False),
        ({"SCRAPER_YONHAP_ENABLED": "1"}, lambda c: c.sources["yonhap"].enabled is True),
        (
            {"SCRAPER_KOREAHERALD_INTERVAL": "5m"},
            lambda c: c.sources["koreaherald"].interval == 300,
        ),
        ({"SCRAPER_YONHAP_MIN_DELAY": "2.5"}, lambda c: c.sources["yonhap"].min_delay == 2.5),
        ({"SCRAPER_LOG_FORMAT": "json"}, lambda c: c.service.log_format == "json"),
        ({"SCRAPER_YONHAP_ENABLED": ""}, lambda c: c.sources["yonhap"].enabled is True),
    ],
)
def test_environment_values_go_through_the_schema(env: dict[str, str], check: Any) -> None:
    assert check(load_config(ROOT / "config" / "scraper.toml", env=env))


@pytest.mark.parametrize(
    ("var", "value", "line"),
    [
        ("SCRAPER_YONHAP_ENABLED", "maybe", "sources.yonhap.enabled must be bool"),
        ("SCRAPER_YONHAP_MIN_DELAY", "-1", "sources.yonhap.min_delay must be 0 or more"),
        ("SCRAPER_KOREAHERALD_BASE_URL", "example.org", "must be an http(s) URL"),
        ("SCRAPER_LOG_FORMAT", "xml", "service.log_format must be 'text' or 'json'"),
    ],
)
def test_bad_environment_values_name_the_variable(var: str, value: str, line: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(ROOT / "config" / "scraper.toml", env={var: value})
    assert len(info.value.lines()) == 1
    assert line in info.value.lines()[0] and f"(from {var})" in info.value.lines()[0]


def test_bad_config_exits_2_before_anything_runs(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[archive]\npath = "{tmp_path / "a"}"\n[http]\ntimeout = -1\njitter = 1\n')
    result = run_cli("--config", str(cfg), "crawl")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: http.timeout must be positive, got -1 ({cfg})",
        f"error: unknown key http.jitter ({cfg})",
    ]
    assert not (tmp_path / "a").exists()
