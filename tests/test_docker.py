"""The container, without a Docker engine: the compose file passes `docker-compose config`, and
the exact command and healthcheck the image runs work natively with the image's environment."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import ROOT
from tests.server import FixtureServer
from tests.test_service_helpers import (
    KH_FEED,
    ServeProcess,
    add_site,
    free_port,
    json_lines,
    scraper_env,
    service_config,
    wait_for,
)

COMPOSE = shutil.which("docker-compose")


@dataclass(frozen=True)
class Image:
    base: str
    user: str
    stop_signal: str
    env: dict[str, str]
    cmd: list[str]
    healthcheck: list[str]


def dockerfile() -> Image:
    """The instructions the tests rely on, parsed from the Dockerfile (continuations joined)."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    found: dict[str, str] = {}
    env: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word == "ENV":
            env.update(dict(pair.split("=", 1) for pair in shlex.split(rest)))
        elif word == "HEALTHCHECK":
            found[word] = rest.split(" CMD ", 1)[1]
        else:
            found[word] = rest.strip()
    return Image(
        base=found["FROM"],
        user=found["USER"],
        stop_signal=found["STOPSIGNAL"],
        env=env,
        cmd=json.loads(found["CMD"]),
        healthcheck=json.loads(found["HEALTHCHECK"]),
    )


def test_dockerfile_runs_the_service_as_a_non_root_user() -> None:
    image = dockerfile()
    assert image.base.startswith("python:3.11-slim")
    assert image.user not in ("root", "0")
    assert image.cmd == ["scraper", "serve"]
    assert image.healthcheck == ["scraper", "healthcheck"]
    assert image.stop_signal == "SIGTERM"
    assert image.env["SCRAPER_ARCHIVE"] == "/data"
    # the build context is an allow-list: no venv, archive or git history goes in
    lines = [x for x in (ROOT / ".dockerignore").read_text().splitlines() if x[:1] not in "#"]
    assert lines[0] == "*"
    assert not {"!.venv", "!archive", "!.git", "!archive/"} & set(lines)


def test_compose_file_is_accepted_by_docker_compose(tmp_path: Path) -> None:
    # a missing tool fails the test (never a silent skip): `make sysdeps` installs it
    assert COMPOSE is not None, "docker-compose is not installed: run `make sysdeps`"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    result = subprocess.run(
        [COMPOSE, "-f", str(ROOT / "docker-compose.yml"), "config"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "restart: unless-stopped" in out
    assert "- archive:/data" in out and ":/etc/scraper:ro" in out
    # the compose healthcheck is the image's, and it is the command tested natively below
    block = out.split("healthcheck:", 1)[1].split("test:", 1)[1]
    items = re.findall(r"^\s+- (\S+)$", block, re.M)[:3]
    assert items == ["CMD", *dockerfile().healthcheck]
    env_block = out.split("environment:", 1)[1]
    for key, value in dockerfile().env.items():
        if key.startswith("SCRAPER_"):
            assert re.search(rf"{key}: '?{re.escape(value)}'?\n", env_block), key

    # the check is real: a broken copy is refused
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        (ROOT / "docker-compose.yml").read_text().replace("restart: unless-stopped", "restart: 7")
    )
    bad = subprocess.run(
        [COMPOSE, "-f", str(broken), "config"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert bad.returncode != 0


def test_the_container_command_and_healthcheck_work_natively(
    server: FixtureServer, tmp_path: Path
) -> None:
    add_site(server)
    image = dockerfile()
    cfg = service_config(tmp_path, server.url)
    port = free_port()
    env = {
        **scraper_env(),
        **image.env,
        # the container's paths and port, mapped to this machine
        "SCRAPER_CONFIG": str(cfg),
        "SCRAPER_ARCHIVE": str(tmp_path / "data"),
        "SCRAPER_HEALTH_PORT": str(port),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    cmd, check = image.cmd, image.healthcheck

    def healthcheck() -> subprocess.CompletedProcess[str]:
        return subprocess.run(check, capture_output=True, text=True, env=env, timeout=30)

    serve = ServeProcess.start(tmp_path, env=env, argv=cmd)
    try:
        wait_for(lambda: healthcheck().returncode == 0, what="a healthy service")
        wait_for(lambda: len(server.requests_for(KH_FEED)) >= 2, what="two crawls")
        assert healthcheck().stdout.strip() == "healthy: ok"
        rc, took = serve.terminate()
    finally:
        serve.kill()
    assert rc == 0 and took < 10, serve.log()
    assert (tmp_path / "data" / "index.sqlite").exists()
    records = json_lines(serve.log())  # SCRAPER_LOG_FORMAT=json from the image
    assert any(r.get("event") == "crawl" and r["source"] == "yonhap" for r in records)
    down = healthcheck()
    assert down.returncode == 1 and down.stderr.startswith("unhealthy: ")
