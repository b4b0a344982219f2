"""One typed configuration object: defaults < TOML file < environment < command-line flags.

The schema is the dataclasses below (pydantic dataclasses): each key is one line with its type,
default and range, and validation reports every problem at once (one line each) before anything
runs. Adding a key = one field line here, its commented entry in ``config/scraper.toml`` and,
if it has an environment variable, one line in ``ENV``. The sources' tables come from the
registry in ``scraper.sources``: no source is named in this module.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic.dataclasses import dataclass
from pydantic_core import ErrorDetails

from scraper import __version__
from scraper import sources as registry
from scraper.errors import ConfigError

DEFAULT_CONFIG_PATH = "config/scraper.toml"
DEFAULT_USER_AGENT = (
    f"kr-news-archiver/{__version__} (+https://github.com/kr-news-archiver/kr-news-archiver; "
    "archiving bot, respects robots.txt)"
)

# Environment variable -> (table, key). Empty values count as unset. The per-source variables
# SCRAPER_<NAME>_<KEY> are made from the registry and SOURCE_ENV_KEYS.
ENV: dict[str, tuple[str, str]] = {
    "SCRAPER_ARCHIVE": ("archive", "path"),
    "SCRAPER_USER_AGENT": ("http", "user_agent"),
    "SCRAPER_LOG_FORMAT": ("service", "log_format"),
    "SCRAPER_HEALTH_PORT": ("service", "health_port"),
}
SOURCE_ENV_KEYS = ("base_url", "enabled", "interval", "min_delay")

# unknown keys are errors; nan and inf are not numbers a setting can take
_SCHEMA = ConfigDict(extra="forbid", allow_inf_nan=False)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _not_bool(value: object) -> object:
    # TOML `true` is not a number (pydantic would read it as 1)
    if isinstance(value, bool):
        raise ValueError(f"must be a number, got {str(value).lower()}")
    return value


def _duration_seconds(value: object) -> object:
    """``600``, ``"600"``, ``"10m"``, ``"1.5h"`` → seconds; other values are left to the type."""
    _not_bool(value)
    if isinstance(value, str):
        if not (m := _DURATION.match(value)):
            raise ValueError(f"must be seconds or a duration like '10m', got {value!r}")
        return float(m.group(1)) * _UNIT[m.group(2)]
    return value


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http(s) URL, got {value!r}")
    return value.rstrip("/")


def _registered(name: str) -> str:
    known = [s.name for s in registry.SOURCES]
    if name not in known:
        raise ValueError(f"unknown source {name!r} (known: {', '.join(known)})")
    return name


Int = Annotated[int, BeforeValidator(_not_bool)]
Float = Annotated[float, BeforeValidator(_not_bool)]
Seconds = Annotated[float, BeforeValidator(_duration_seconds), Field(gt=0)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
SourceName = Annotated[str, AfterValidator(_registered)]


@dataclass(frozen=True, config=_SCHEMA)
class HttpConfig:
    timeout: Annotated[Float, Field(gt=0)] = 20.0
    deadline: Annotated[Float, Field(gt=0)] = 60.0  # a whole exchange: connect + headers + body
    max_retries: Annotated[Int, Field(ge=0)] = 4
    user_agent: Text = DEFAULT_USER_AGENT
    max_bytes: Annotated[Int, Field(ge=1024)] = 10 * 1024 * 1024
    max_redirects: Annotated[Int, Field(ge=0)] = 5
    backoff_base: Annotated[Float, Field(gt=0)] = 1.0  # seconds; doubled each retry, with jitter
    backoff_max: Annotated[Float, Field(gt=0)] = 120.0
    respect_robots: bool = True


@dataclass(frozen=True, config=_SCHEMA)
class SourceConfig:
    name: str  # the table's name, filled in by Settings
    enabled: bool = True
    base_url: HttpUrl = ""  # "" only before Settings fills in the registry's default
    interval: Seconds = 600.0
    min_delay: Annotated[Float, Field(ge=0)] = 1.0


@dataclass(frozen=True, config=_SCHEMA)
class ArchiveConfig:
    path: Path = Path("archive")
    # below 1 MiB every few captures would open a new file
    warc_max_bytes: Annotated[Int, Field(ge=1024 * 1024)] = 1024 * 1024 * 1024


@dataclass(frozen=True, config=_SCHEMA)
class ServiceConfig:
    jitter: Annotated[Float, Field(ge=0)] = 30.0  # seconds of random delay added to each run
    log_format: Literal["text", "json"] = "text"
    health_port: Annotated[Int, Field(ge=0, le=65535)] = 0  # /healthz, /metrics; 0 = off
    # seconds a stop waits for a running crawl before abandoning it; at most 8 because the
    # service promises to exit within 10 s of SIGTERM (grace + 1.5 s for a write)
    stop_grace: Annotated[Float, Field(gt=0, le=8)] = 7.0
    failure_threshold: Annotated[Int, Field(ge=1)] = 3  # failed runs in a row before backoff
    backoff_max: Seconds = 21600.0  # longest pause of a failing source
    # layout-drift alarm: the last N new articles of a source, of which this share came from
    # the fallback parser
    drift_window: Annotated[Int, Field(ge=1)] = 50
    drift_threshold: Annotated[Float, Field(gt=0, le=1)] = 0.5


def _template(value: str) -> str:
    """An http(s) URL template with ``{timestamp}`` and ``{url}`` (``backfill.replay_url``)."""
    if "{timestamp}" not in value or "{url}" not in value:
        raise ValueError(f"must contain {{timestamp}} and {{url}}, got {value!r}")
    _http_url(value.replace("{timestamp}", "0").replace("{url}", "u"))
    return value


@dataclass(frozen=True, config=_SCHEMA)
class BackfillConfig:
    """History from a Wayback-style archive (scraper/history/backfill.py, docs/backfill.md)."""

    cdx_url: HttpUrl = "https://web.archive.org/cdx/search/cdx"
    replay_url: Annotated[str, AfterValidator(_template)] = (
        "https://web.archive.org/web/{timestamp}id_/{url}"
    )
    min_delay: Annotated[Float, Field(ge=0)] = 1.0  # seconds between requests to the archive
    page_size: Annotated[Int, Field(ge=1, le=150000)] = 5000  # CDX rows per request


@dataclass(frozen=True, config=_SCHEMA)
class Settings:
    """The file's tables: ``[archive]``, ``[http]``, ``[service]``, ``[sources.<name>]``."""

    archive: ArchiveConfig = dataclasses.field(default_factory=ArchiveConfig)
    http: HttpConfig = dataclasses.field(default_factory=HttpConfig)
    service: ServiceConfig = dataclasses.field(default_factory=ServiceConfig)
    backfill: BackfillConfig = dataclasses.field(default_factory=BackfillConfig)
    sources: dict[SourceName, SourceConfig] = dataclasses.field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _name_sources(cls, data: Any) -> Any:
        """A source table gets its name from its key and its default base_url from the
        registry, so neither has to be written in the file."""
        if not isinstance(data, dict) or not isinstance(data.get("sources"), dict):
            return data
        defaults = {s.name: s.default_base_url for s in registry.SOURCES}
        named = {}
        for name, table in data["sources"].items():
            if isinstance(table, dict) and name in defaults:
                table = {"base_url": defaults[name], **table, "name": name}
            named[name] = table
        return {**data, "sources": named}


@dataclass(frozen=True, config=_SCHEMA)
class Config(Settings):
    path: Path | None = None  # the file it was read from

    def source(self, name: str) -> SourceConfig:
        return self.sources[name]

    def enabled_sources(self) -> list[SourceConfig]:
        return [s for s in self.sources.values() if s.enabled]

    def with_archive(self, path: str | os.PathLike[str]) -> Config:
        return dataclasses.replace(self, archive=dataclasses.replace(self.archive, path=Path(path)))


_SETTINGS = TypeAdapter(Settings)


def parse_duration(value: object, key: str) -> float:
    """``600``, ``"600"``, ``"10m"``, ``"1.5h"`` → seconds (positive and finite)."""
    try:
        seconds = float(_duration_seconds(value))  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{key} {exc}" if isinstance(exc, ValueError) else key) from exc
    if not math.isfinite(seconds) or seconds <= 0:
        raise ConfigError(f"{key} must be positive, got {value!r}")
    return seconds


_KINDS = {
    "float": "float",
    "int": "int",
    "bool": "bool (true or false)",
    "string": "str",
    "path": "str (a path)",
    "dict": "a table",
    "dataclass": "a table",
    "model": "a table",
}


def _problem(err: ErrorDetails, origins: dict[tuple[str, ...], str]) -> str:
    """One pydantic error as one line: ``http.timeout must be positive, got -1``."""
    loc = tuple(str(p) for p in err["loc"] if p != "[key]")
    key = ".".join(loc)
    kind, ctx, value = err["type"], err.get("ctx", {}), err.get("input")
    if kind in ("unexpected_keyword_argument", "extra_forbidden"):
        return f"unknown table [{key}]" if len(loc) == 1 else f"unknown key {key}"
    if kind == "value_error" and "unknown source" in str(ctx.get("error")):
        return str(ctx["error"])
    if kind == "value_error":
        what = str(ctx.get("error"))
    elif kind in ("greater_than", "greater_than_equal", "less_than_equal", "less_than"):
        bound = next(iter(ctx.values()))
        what = {
            "greater_than": "must be positive" if bound == 0 else f"must be over {bound}",
            "greater_than_equal": f"must be {bound} or more",
            "less_than_equal": f"must be at most {bound}",
            "less_than": f"must be under {bound}",
        }[kind]
    elif kind == "finite_number":
        what = "must be a finite number"
    elif kind == "literal_error":
        what = f"must be {ctx.get('expected')}"
    elif kind == "string_too_short":
        what = "must not be empty"
    elif (base := kind.split("_")[0]) in _KINDS and kind.endswith(("_type", "_parsing", "_float")):
        what = f"must be {_KINDS[base]}"
    else:
        what = err["msg"]
    line = f"{key} {what}"
    if "got " not in what and not isinstance(value, dict):
        line += f", got {value!r}" if not isinstance(value, list) else ", got an array"
    if env := origins.get(loc):
        line += f" (from {env})"
    return line


def build_config(
    data: dict[str, Any], path: Path | None = None, *, origins: dict[Any, str] | None = None
) -> Config:
    """Validate a parsed TOML document; raise one ConfigError listing every problem.
    ``origins`` maps a key path to the environment variable it came from (for messages)."""
    if "sources" not in data:
        data = {**data, "sources": {s.name: {} for s in registry.SOURCES}}
    try:
        settings = _SETTINGS.validate_python(data)
    except ValidationError as exc:
        errors = exc.errors()
        # an unknown source's table is not checked further: its name is the one problem
        unknown = {e["loc"][:2] for e in errors if e["loc"][-1:] == ("[key]",)}
        problems = [
            _problem(e, origins or {})
            for e in errors
            if e["loc"][-1:] == ("[key]",) or e["loc"][:2] not in unknown
        ]
        raise ConfigError(
            "; ".join(problems), where=str(path) if path else None, problems=tuple(problems)
        ) from None
    fields = {f.name: getattr(settings, f.name) for f in dataclasses.fields(Settings)}
    return Config(**fields, path=path)


def _env_overrides(data: dict[str, Any], env: dict[str, str]) -> dict[tuple[str, ...], str]:
    """Put the environment's values into ``data`` (as strings: the schema converts them);
    returns which key came from which variable."""
    names = dict(ENV)
    for source in registry.SOURCES:
        for key in SOURCE_ENV_KEYS:
            names[f"SCRAPER_{source.name.upper()}_{key.upper()}"] = (
                f"sources.{source.name}",
                key,
            )
    origins: dict[tuple[str, ...], str] = {}
    for var, (table, key) in names.items():
        if not (value := env.get(var, "").strip()):
            continue
        into = data
        for part in table.split("."):
            if not isinstance(into.get(part), dict):
                into[part] = {}  # the environment wins over a malformed table
            into = into[part]
        into[key] = value
        origins[(*table.split("."), key)] = var
    return origins


def _read_toml(cfg_path: Path) -> dict[str, Any]:
    try:
        with cfg_path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", where=str(cfg_path)) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
            "TOML files are UTF-8",
            where=str(cfg_path),
        ) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read config: {exc.strerror}", where=str(cfg_path)) from exc


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
        data = _read_toml(cfg_path)
    elif explicit:
        raise ConfigError("config file not found", where=str(cfg_path))
    if "sources" not in data:
        data["sources"] = {s.name: {} for s in registry.SOURCES}
    origins = _env_overrides(data, env)
    config = build_config(data, cfg_path if cfg_path.exists() else None, origins=origins)
    if archive:
        config = config.with_archive(archive)
    return config
