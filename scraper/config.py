"""One typed configuration object: defaults < TOML file < environment < command-line flags.

The shipped ``config/scraper.toml`` documents every key. Problems are collected and reported
together (one line each) before anything runs.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scraper import __version__
from scraper.errors import ConfigError

DEFAULT_CONFIG_PATH = "config/scraper.toml"
DEFAULT_USER_AGENT = (
    f"kr-news-archiver/{__version__} (+https://github.com/kr-news-archiver/kr-news-archiver; "
    "archiving bot, respects robots.txt)"
)
KNOWN_SOURCES = ("yonhap", "koreaherald")
_DEFAULT_BASE_URLS = {
    "yonhap": "https://en.yna.co.kr",
    "koreaherald": "https://www.koreaherald.com",
}


@dataclass(frozen=True)
class HttpConfig:
    timeout: float = 20.0
    max_retries: int = 4
    user_agent: str = DEFAULT_USER_AGENT
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    backoff_base: float = 1.0  # seconds; doubled each retry, with jitter
    backoff_max: float = 120.0
    respect_robots: bool = True


@dataclass(frozen=True)
class SourceConfig:
    name: str
    enabled: bool = True
    base_url: str = ""
    interval: float = 600.0
    min_delay: float = 1.0


@dataclass(frozen=True)
class ArchiveConfig:
    path: Path = Path("archive")
    warc_max_bytes: int = 1024 * 1024 * 1024


@dataclass(frozen=True)
class ServiceConfig:
    jitter: float = 30.0  # seconds of random delay added to each scheduled run
    log_format: str = "text"  # text | json
    health_port: int = 0  # /healthz and /metrics on 127.0.0.1:<port>; 0 = off
    stop_grace: float = 7.0  # seconds a stop waits for a running crawl before abandoning it
    failure_threshold: int = 3  # consecutive failed runs of a source before it is backed off
    backoff_max: float = 21600.0  # longest pause of a failing source (seconds)
    drift_window: int = 50  # layout-drift alarm: the last N new articles of a source …
    drift_threshold: float = 0.5  # … of which this share came from the fallback parser


@dataclass(frozen=True)
class Config:
    archive: ArchiveConfig = field(default_factory=ArchiveConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    service: ServiceConfig = field(default_factory=ServiceConfig)
    sources: dict[str, SourceConfig] = field(default_factory=dict)
    path: Path | None = None  # the file it was read from

    def source(self, name: str) -> SourceConfig:
        return self.sources[name]

    def enabled_sources(self) -> list[SourceConfig]:
        return [s for s in self.sources.values() if s.enabled]

    def with_archive(self, path: str | os.PathLike[str]) -> Config:
        return replace(self, archive=replace(self.archive, path=Path(path)))


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: object, key: str) -> float:
    """``600``, ``"600"``, ``"10m"``, ``"1.5h"`` → seconds."""
    if isinstance(value, bool):
        raise ConfigError(f"{key} must be a duration, not a boolean")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m.group(1)) * _UNIT[m.group(2)]
    else:
        raise ConfigError(f"{key} must be seconds or a duration like '10m', got {value!r}")
    if seconds <= 0:
        raise ConfigError(f"{key} must be positive, got {value!r}")
    return seconds


class _Reader:
    """Pulls typed values out of a TOML table, collecting every problem instead of stopping."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems

    def take(self, table: dict[str, Any], key: str, kind: type, default: Any, where: str) -> Any:
        if key not in table:
            return default
        value = table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.problems.append(
                f"{where}.{key} must be {kind.__name__}, got {type(value).__name__}"
            )
            return default
        return value

    def unknown(self, table: dict[str, Any], allowed: set[str], where: str) -> None:
        for key in table:
            if key not in allowed:
                self.problems.append(f"unknown key {where}.{key}")


def _check_base_url(url: str, where: str, problems: list[str]) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        problems.append(f"{where}.base_url must be an http(s) URL, got {url!r}")


def build_config(data: dict[str, Any], path: Path | None = None) -> Config:
    """Validate a parsed TOML document; raise one ConfigError listing every problem."""
    problems: list[str] = []
    r = _Reader(problems)
    top_allowed = {"archive", "http", "service", "sources"}
    r.unknown(data, top_allowed, "config")

    a = data.get("archive", {})
    r.unknown(a, {"path", "warc_max_bytes"}, "archive")
    archive = ArchiveConfig(
        path=Path(r.take(a, "path", str, "archive", "archive")),
        warc_max_bytes=r.take(a, "warc_max_bytes", int, ArchiveConfig.warc_max_bytes, "archive"),
    )

    h = data.get("http", {})
    d = HttpConfig()
    r.unknown(h, set(HttpConfig.__dataclass_fields__), "http")
    http = HttpConfig(
        timeout=r.take(h, "timeout", float, d.timeout, "http"),
        max_retries=r.take(h, "max_retries", int, d.max_retries, "http"),
        user_agent=r.take(h, "user_agent", str, d.user_agent, "http"),
        max_bytes=r.take(h, "max_bytes", int, d.max_bytes, "http"),
        max_redirects=r.take(h, "max_redirects", int, d.max_redirects, "http"),
        backoff_base=r.take(h, "backoff_base", float, d.backoff_base, "http"),
        backoff_max=r.take(h, "backoff_max", float, d.backoff_max, "http"),
        respect_robots=r.take(h, "respect_robots", bool, d.respect_robots, "http"),
    )
    if http.timeout <= 0:
        problems.append("http.timeout must be positive")
    if http.max_retries < 0:
        problems.append("http.max_retries must be 0 or more")
    if http.max_bytes < 1024:
        problems.append("http.max_bytes must be at least 1024")
    if not http.user_agent.strip():
        problems.append("http.user_agent must not be empty")

    s = data.get("service", {})
    r.unknown(s, set(ServiceConfig.__dataclass_fields__), "service")
    service = ServiceConfig(
        jitter=r.take(s, "jitter", float, ServiceConfig.jitter, "service"),
        log_format=r.take(s, "log_format", str, ServiceConfig.log_format, "service"),
        health_port=r.take(s, "health_port", int, ServiceConfig.health_port, "service"),
        stop_grace=r.take(s, "stop_grace", float, ServiceConfig.stop_grace, "service"),
        failure_threshold=r.take(
            s, "failure_threshold", int, ServiceConfig.failure_threshold, "service"
        ),
        backoff_max=ServiceConfig.backoff_max,
        drift_window=r.take(s, "drift_window", int, ServiceConfig.drift_window, "service"),
        drift_threshold=r.take(
            s, "drift_threshold", float, ServiceConfig.drift_threshold, "service"
        ),
    )
    if "backoff_max" in s:
        try:
            service = replace(
                service, backoff_max=parse_duration(s["backoff_max"], "service.backoff_max")
            )
        except ConfigError as exc:
            problems.append(str(exc))
    if service.log_format not in ("text", "json"):
        problems.append(f"service.log_format must be 'text' or 'json', got {service.log_format!r}")
    if not 0 <= service.health_port <= 65535:
        problems.append(f"service.health_port must be 0 (off) to 65535, got {service.health_port}")
    if not 0 < service.stop_grace <= 8:
        # the service promises to exit within 10 s of SIGTERM (grace + 1.5 s for a write)
        problems.append(
            f"service.stop_grace must be over 0 and at most 8, got {service.stop_grace}"
        )
    if service.failure_threshold < 1:
        problems.append("service.failure_threshold must be 1 or more")
    if service.drift_window < 1:
        problems.append("service.drift_window must be 1 or more")
    if not 0 < service.drift_threshold <= 1:
        problems.append(
            f"service.drift_threshold must be over 0 and at most 1, got {service.drift_threshold}"
        )

    sources: dict[str, SourceConfig] = {}
    raw_sources = data.get("sources", {name: {} for name in KNOWN_SOURCES})
    if not isinstance(raw_sources, dict):
        problems.append("sources must be a table")
        raw_sources = {}
    for name, table in raw_sources.items():
        where = f"sources.{name}"
        if name not in KNOWN_SOURCES:
            problems.append(f"unknown source {name!r} (known: {', '.join(KNOWN_SOURCES)})")
            continue
        if not isinstance(table, dict):
            problems.append(f"{where} must be a table")
            continue
        r.unknown(table, {"enabled", "base_url", "interval", "min_delay"}, where)
        interval: float = SourceConfig.interval
        if "interval" in table:
            try:
                interval = parse_duration(table["interval"], f"{where}.interval")
            except ConfigError as exc:
                problems.append(str(exc))
        min_delay = r.take(table, "min_delay", float, SourceConfig.min_delay, where)
        if min_delay < 0:
            problems.append(f"{where}.min_delay must be 0 or more")
        base_url = r.take(table, "base_url", str, _DEFAULT_BASE_URLS[name], where).rstrip("/")
        _check_base_url(base_url, where, problems)
        sources[name] = SourceConfig(
            name=name,
            enabled=r.take(table, "enabled", bool, True, where),
            base_url=base_url,
            interval=interval,
            min_delay=min_delay,
        )
    if problems:
        raise ConfigError(
            "; ".join(problems), where=str(path) if path else None, problems=tuple(problems)
        )
    return Config(archive=archive, http=http, service=service, sources=sources, path=path)


def _env_overrides(data: dict[str, Any], env: dict[str, str]) -> None:
    """``SCRAPER_ARCHIVE``, ``SCRAPER_USER_AGENT``, ``SCRAPER_LOG_FORMAT``,
    ``SCRAPER_HEALTH_PORT``, and
    ``SCRAPER_<SOURCE>_BASE_URL`` / ``_ENABLED`` / ``_INTERVAL`` / ``_MIN_DELAY``
    (e.g. ``SCRAPER_YONHAP_BASE_URL``)."""
    if v := env.get("SCRAPER_ARCHIVE"):
        data.setdefault("archive", {})["path"] = v
    if v := env.get("SCRAPER_USER_AGENT"):
        data.setdefault("http", {})["user_agent"] = v
    if v := env.get("SCRAPER_LOG_FORMAT"):
        data.setdefault("service", {})["log_format"] = v
    if v := env.get("SCRAPER_HEALTH_PORT"):
        data.setdefault("service", {})["health_port"] = int(v) if v.strip().isdigit() else v
    for name in KNOWN_SOURCES:
        prefix = f"SCRAPER_{name.upper()}_"
        table = data.setdefault("sources", {}).get(name)
        for key in ("BASE_URL", "ENABLED", "INTERVAL", "MIN_DELAY"):
            if (v := env.get(prefix + key)) is None:
                continue
            if table is None:
                table = data["sources"].setdefault(name, {})
            value: Any = v
            if key == "ENABLED":
                value = v.strip().lower() in ("1", "true", "yes", "on")
            elif key == "MIN_DELAY":
                try:
                    value = float(v)
                except ValueError:
                    value = v
            table[key.lower()] = value


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    env: dict[str, str] | None = None,
    archive: str | None = None,
) -> Config:
    """Read the TOML file (if any), apply the environment, then the ``--archive`` flag."""
    env = dict(os.environ) if env is None else env
    explicit = path is not None or "SCRAPER_CONFIG" in env
    cfg_path = Path(path or env.get("SCRAPER_CONFIG") or DEFAULT_CONFIG_PATH)
    data: dict[str, Any] = {}
    if cfg_path.exists():
        try:
            with cfg_path.open("rb") as fh:
                data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"invalid TOML: {exc}", where=str(cfg_path)) from exc
        except OSError as exc:
            raise ConfigError(f"cannot read config: {exc.strerror}", where=str(cfg_path)) from exc
    elif explicit:
        raise ConfigError("config file not found", where=str(cfg_path))
    if "sources" not in data:
        data["sources"] = {name: {} for name in KNOWN_SOURCES}
    _env_overrides(data, env)
    config = build_config(data, cfg_path if cfg_path.exists() else None)
    if archive:
        config = config.with_archive(archive)
    return config
