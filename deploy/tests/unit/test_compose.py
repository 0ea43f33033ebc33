"""docker-compose.yml and deploy/Dockerfile agree with the local platform: the services of
``sanad.platform.layout``, their default ports, and ``platform_env()``'s variables."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from sanad.platform import layout
from sanad.platform.layout import SERVICES, ServiceInfo
from sanad.platform.services import platform_env

REPO = Path(__file__).resolve().parents[3]
COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "deploy" / "Dockerfile"
ENTRYPOINT = REPO / "deploy" / "docker-entrypoint.sh"
INFRA = ("kafka", "postgres", "redis")
LOOPBACK = ("127.0.0.1", "localhost")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text())  # resolves the anchors and `<<` merges
    assert isinstance(document, dict) and isinstance(document.get("services"), dict), (
        f"{COMPOSE.name} has no `services:` mapping"
    )
    services: dict[str, Any] = document["services"]
    return services


def _service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    assert name in compose, f"{COMPOSE.name} has no service {name!r}"
    return dict(compose[name])


def _published(service: dict[str, Any]) -> dict[int, int]:
    """Published (host) port -> container port, from the short or the long syntax."""
    result: dict[int, int] = {}
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            result[int(entry["published"])] = int(entry["target"])
        else:
            *_ip, host, container = str(entry).split(":")
            result[int(host)] = int(container.split("/")[0])
    return result


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(key): str(value) for key, value in env.items()}


def _depends_on(service: dict[str, Any]) -> dict[str, str]:
    """Dependency -> condition (the list syntax means ``service_started``)."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def _healthcheck_command(service: dict[str, Any]) -> str:
    check = service.get("healthcheck") or {}
    test = check.get("test")
    if check.get("disable") or not test:
        return ""
    return " ".join(test) if isinstance(test, list) else str(test)


@pytest.mark.parametrize("info", SERVICES, ids=lambda info: info.name)
def test_service_is_built_from_the_one_image_with_its_name(
    compose: dict[str, Any], info: ServiceInfo
) -> None:
    build = _service(compose, info.name).get("build")
    assert isinstance(build, dict), f"{info.name}: `build:` should be a mapping with args"
    assert build.get("dockerfile") == "deploy/Dockerfile", (
        f"{info.name}: built from {build.get('dockerfile')!r}, not deploy/Dockerfile"
    )
    assert build.get("context") in (".", "./"), f"{info.name}: build context is not the repo"
    built = (build.get("args") or {}).get("SERVICE")
    assert built == info.name, f"{info.name}: built with SERVICE={built!r}, not {info.name!r}"


@pytest.mark.parametrize("info", SERVICES, ids=lambda info: info.name)
def test_service_publishes_its_default_port(compose: dict[str, Any], info: ServiceInfo) -> None:
    ports = _published(_service(compose, info.name))
    expected = {info.default_port: info.default_port}
    assert ports == expected, (
        f"{info.name}: publishes {ports} (host: container), layout.py says "
        f"{info.default_port}:{info.default_port}"
    )


@pytest.mark.parametrize("info", SERVICES, ids=lambda info: info.name)
def test_service_environment_is_platform_env(compose: dict[str, Any], info: ServiceInfo) -> None:
    env = _environment(_service(compose, info.name))
    expected = set(platform_env())
    missing, extra = sorted(expected - set(env)), sorted(set(env) - expected)
    assert not missing and not extra, (
        f"{info.name}: environment differs from platform_env(): "
        f"missing {missing or 'nothing'}, not in platform_env() {extra or 'nothing'}"
    )
    for other in SERVICES:
        port = env[other.port_variable]
        assert port == str(other.default_port), (
            f"{info.name}: {other.port_variable}={port}, layout.py's default is "
            f"{other.default_port}"
        )
        url = env[f"SANAD_{other.name.upper()}_URL"]
        assert url == f"http://{other.name}:{other.default_port}", (
            f"{info.name}: SANAD_{other.name.upper()}_URL={url}, "
            f"expected http://{other.name}:{other.default_port}"
        )
    loopback = {key: value for key, value in env.items() if any(h in value for h in LOOPBACK)}
    assert not loopback, f"{info.name}: loopback addresses inside a container: {loopback}"


@pytest.mark.parametrize(
    ("name", "spec"),
    [
        ("kafka", layout.KAFKA_PORT),
        ("postgres", layout.PG_PORT),
        ("redis", layout.REDIS_PORT),
        ("sms-sink", layout.SMS_SINK_PORT),
        ("mail-catcher", layout.MAIL_SMTP_PORT),
        ("mail-catcher", layout.MAIL_HTTP_PORT),
    ],
    ids=lambda value: value if isinstance(value, str) else value[0],
)
def test_infrastructure_and_sinks_publish_layout_ports(
    compose: dict[str, Any], name: str, spec: tuple[str, int]
) -> None:
    variable, default = spec
    ports = _published(_service(compose, name))
    assert default in ports, (
        f"{name}: publishes host ports {sorted(ports)}, layout.py's {variable} is {default}"
    )


def test_service_addresses_in_the_environment_match_the_published_ports(
    compose: dict[str, Any],
) -> None:
    identity = next(info for info in SERVICES if info.name == "identity")
    env = _environment(_service(compose, identity.name))
    expected = {
        "SANAD_KAFKA_BOOTSTRAP_SERVERS": f"kafka:{layout.KAFKA_PORT[1]}",
        "SANAD_REDIS_URL": f"redis://redis:{layout.REDIS_PORT[1]}/0",
        "SANAD_PG_HOST": "postgres",
        "SANAD_PG_PORT": str(layout.PG_PORT[1]),
        "SANAD_SMS_BASE_URL": f"http://sms-sink:{layout.SMS_SINK_PORT[1]}",
        "SANAD_SMTP_HOST": "mail-catcher",
        "SANAD_SMTP_PORT": str(layout.MAIL_SMTP_PORT[1]),
        "SANAD_MAIL_API_URL": f"http://mail-catcher:{layout.MAIL_HTTP_PORT[1]}",
        "SANAD_JWKS_URL": f"http://{identity.name}:{identity.default_port}/.well-known/jwks.json",
    }
    wrong = {key: env.get(key) for key, value in expected.items() if env.get(key) != value}
    assert not wrong, f"infrastructure addresses {wrong}, expected {expected}"


@pytest.mark.parametrize("info", SERVICES, ids=lambda info: info.name)
def test_service_waits_for_infrastructure_and_init(
    compose: dict[str, Any], info: ServiceInfo
) -> None:
    deps = _depends_on(_service(compose, info.name))
    for name in INFRA:
        assert deps.get(name) == "service_healthy", (
            f"{info.name}: depends_on {name} with {deps.get(name)!r}, not service_healthy"
        )
    assert deps.get("init") == "service_completed_successfully", (
        f"{info.name}: depends_on init with {deps.get('init')!r}, "
        "not service_completed_successfully"
    )


@pytest.mark.parametrize("info", SERVICES, ids=lambda info: info.name)
def test_service_has_a_healthz_healthcheck(compose: dict[str, Any], info: ServiceInfo) -> None:
    command = _healthcheck_command(_service(compose, info.name))
    target = f":{info.default_port}/healthz"
    assert target in command, f"{info.name}: healthcheck {command!r} does not probe {target}"


@pytest.mark.parametrize("name", [*INFRA, "sms-sink", "mail-catcher"])
def test_infrastructure_and_sinks_have_healthchecks(compose: dict[str, Any], name: str) -> None:
    assert _healthcheck_command(_service(compose, name)), f"{name}: no healthcheck"


def test_init_job_provisions_after_postgres_and_kafka(compose: dict[str, Any]) -> None:
    init = _service(compose, "init")
    command = init.get("command")
    command = " ".join(command) if isinstance(command, list) else str(command)
    assert "sanad.platform.init_stack" in command, f"init: runs {command!r}"
    deps = _depends_on(init)
    for name in ("kafka", "postgres"):
        assert deps.get(name) == "service_healthy", f"init: depends_on {name} {deps.get(name)!r}"
    assert "SANAD_PG_ADMIN_URL" in _environment(init), "init: no SANAD_PG_ADMIN_URL"


def test_dockerfile_takes_the_service_build_arg_and_entrypoint_is_executable() -> None:
    dockerfile = DOCKERFILE.read_text()
    assert re.search(r"^ARG SERVICE\b", dockerfile, re.MULTILINE), (
        f"{DOCKERFILE.name}: no `ARG SERVICE` build argument"
    )
    assert ENTRYPOINT.name in dockerfile, f"{DOCKERFILE.name} does not use {ENTRYPOINT.name}"
    assert ENTRYPOINT.is_file(), f"{ENTRYPOINT} is missing"
    mode = ENTRYPOINT.stat().st_mode
    assert mode & stat.S_IXUSR and os.access(ENTRYPOINT, os.X_OK), (
        f"{ENTRYPOINT} is not executable (chmod +x it)"
    )
    assert ENTRYPOINT.read_text().startswith("#!"), f"{ENTRYPOINT} has no shebang line"
    bootstrap = re.search(r"^UV_VERSION=(\S+)", (REPO / "sanad").read_text(), re.MULTILINE)
    assert bootstrap, "./sanad no longer sets UV_VERSION"
    assert f"UV_VERSION={bootstrap.group(1)}" in dockerfile, (
        f"{DOCKERFILE.name} does not install uv {bootstrap.group(1)}, the version ./sanad uses"
    )
