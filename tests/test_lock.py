"""The locks cover pyproject.toml: every declared dependency is pinned, with hashes, in the lock
that installs it (runtime in both, dev tools in the dev lock). Resolving again needs PyPI, so
`make lock` is not run here; this catches a dependency added without refreshing the locks."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(spec: str) -> str:
    return _norm(re.split(r"[\s<>=!~;\[]", spec, maxsplit=1)[0])


def _pinned(lock: str) -> dict[str, str]:
    text = (ROOT / lock).read_text()
    pins = dict(
        (_norm(m.group(1)), m.group(2))
        for m in re.finditer(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)", text, re.MULTILINE)
    )
    assert pins, lock
    # every pin carries at least one hash (pip --require-hashes refuses the file otherwise)
    blocks = re.split(r"^(?=[A-Za-z0-9_.-]+==)", text, flags=re.MULTILINE)[1:]
    assert all("--hash=sha256:" in block for block in blocks), lock
    return pins


def test_every_dependency_is_locked() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {_declared(spec) for spec in project["dependencies"]}
    dev = {_declared(spec) for spec in project["optional-dependencies"]["dev"]}
    runtime_lock, dev_lock = _pinned("requirements.lock"), _pinned("requirements-dev.lock")
    assert runtime - set(runtime_lock) == set(), "run `make lock`"
    assert (runtime | dev) - set(dev_lock) == set(), "run `make lock`"
    # the runtime lock (the Docker image) pins the same versions as the dev lock (the tests)
    assert {name: dev_lock[name] for name in runtime_lock} == runtime_lock
