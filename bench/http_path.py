"""The HTTP path at speed: health, direct and gateway reads, the status read and the submit.

Starts its own profile, applications and gateway processes (``python -m sanad.<service>
serve``, exactly as the platform does, from the source tree given by ``--tree``: this one,
or a checkout of another commit to compare) on spare ports, against the local platform's
Postgres, Redis, Kafka and identity, with the gateway's rate limits raised so the limiter
is still counted in Redis on every request but never refuses one. Then, in one run:

- ``health``: ``GET /healthz`` on the profile service;
- ``profile_direct``: ``GET /v1/profile`` straight to the profile service;
- ``profile_gateway``: the same read through the gateway;
- ``application_gateway``: ``GET /v1/applications/{id}`` (the status read) through the
  gateway, and ``applications_list_gateway``: ``GET /v1/applications`` ("my requests");
- ``profile_gateway_304``: the profile read re-asked with ``If-None-Match``;
- ``submit_gateway``: real submits (``POST /v1/applications/{id}/submit`` of drafts with
  their form and documents, one per citizen) through the gateway.

Reads are driven by ``wrk`` (Debian's package; ``./sanad`` installs it) with a citizen's
real token; the submits by an httpx client, whose own CPU time is reported. Each figure
carries the load average at the time: the machine is shared.

    uv run python bench/http_path.py                       # this tree
    uv run python bench/http_path.py --tree /path/to/other/checkout --label before

Writes bench/results/http_path.json (runs are appended under their label).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from sanad.platform.services import platform_env
from sanad.shared.national_id import luhn_valid

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
PDF = b"%PDF-1.4\n% a scanned document\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x00" * 128
DOCUMENTS = ("national_id", "family_register", "proof_of_income", "bank_account")

WRK_REPORT = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "socket_errors": %d, "bad_status": %d, '
    .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean))
end
"""


# Two workers, as the gateway has; a keep-alive pool to the service, as the gateway's.
NGINX = """
{modules}
worker_processes {workers};
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
{temp}
{http_extra}
  upstream profile {{ server {upstream}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
{access}
      proxy_pass http://profile;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Request-ID $request_id;
    }}
  }}
}}
"""
# With Debian's libnginx-mod-http-lua and lua-nginx-redis: both rate limits counted in Redis
# by the gateway's own Lua script (EVALSHA, one round trip over a pooled connection). The
# user's counter is keyed by a hash of the token, as a cached token verification would give.
NGINX_LUA_MODULES = """
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
"""
NGINX_LUA_HTTP = """
  lua_package_path "/usr/share/lua/5.1/?.lua;;";
  init_by_lua_block { LIMITS = { script = [[%(script)s]] } }
"""
NGINX_LUA_ACCESS = """
      access_by_lua_block {
        local r = require("nginx.redis"):new()
        r:set_timeout(1000)
        if not r:connect("%(host)s", %(port)d) then return ngx.exit(503) end
        if r:get_reused_times() == 0 and not r:auth("%(user)s", "%(password)s") then
          return ngx.exit(503)
        end
        if not LIMITS.sha then LIMITS.sha = r:script("LOAD", LIMITS.script) end
        local now = ngx.time()
        local start = now - now %% 60
        local who = ngx.encode_base64(ngx.sha1_bin(ngx.var.http_authorization or ""))
        local res = r:evalsha(LIMITS.sha, 2,
          "gateway:ratelimit:ip:" .. ngx.var.remote_addr .. ":" .. start,
          "gateway:ratelimit:user:" .. who .. ":" .. start, 61, 1000000000, 1000000000)
        r:set_keepalive(10000, 64)
        if not res then return ngx.exit(503) end
        if res ~= 0 then return ngx.exit(429) end
        ngx.req.set_header("X-Sanad-Subject", who)
      }
"""


def new_national_id() -> str:
    body = "1" + "".join(random.choices("0123456789", k=8))
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


# Debian's packages for --proxy, installed here (only this measurement needs them, so not
# by ./sanad for every machine): nginx, its Lua module, and the Redis client for Lua.
PROXY_PACKAGES = {
    "nginx-light": "/usr/sbin/nginx",
    "libnginx-mod-http-lua": "/usr/lib/nginx/modules/ngx_http_lua_module.so",
    "lua-nginx-redis": "/usr/share/lua/5.1/nginx/redis.lua",
}


def install_proxy_packages(*, lua: bool) -> None:
    wanted = PROXY_PACKAGES if lua else {"nginx-light": PROXY_PACKAGES["nginx-light"]}
    missing = [package for package, path in wanted.items() if not Path(path).exists()]
    if not missing:
        return
    print(f"installing Debian packages: {' '.join(missing)}", flush=True)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        [*sudo, "apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
        check=True,
        env=env,
    )
    # Debian starts its own nginx on port 80; the bench runs its own on spare ports.
    subprocess.run([*sudo, "service", "nginx", "stop"], check=False, capture_output=True)


class Instances:
    """Our own profile, applications and gateway processes, stopped at the end."""

    def __init__(self, tree: Path, base_port: int, logs: Path) -> None:
        self.tree = tree
        self.python = str(tree / ".venv" / "bin" / "python")
        self.ports = {"profile": base_port + 2, "applications": base_port + 3}
        self.ports["gateway"] = base_port
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []
        self.names: list[str] = []

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) used so far by each service's processes, its workers
        included: per request, the one figure a loaded shared machine does not blur."""
        parents: dict[int, int] = {}
        used: dict[int, float] = {}
        tick = os.sysconf("SC_CLK_TCK")
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rpartition(")")[2].split()
            except OSError:
                continue  # ended meanwhile
            pid = int(stat.parent.name)
            parents[pid] = int(fields[1])
            used[pid] = (int(fields[11]) + int(fields[12])) / tick

        def tree(root: int) -> float:
            total, todo = 0.0, [root]
            while todo:
                pid = todo.pop()
                total += used.get(pid, 0.0)
                todo += [child for child, parent in parents.items() if parent == pid]
            return total

        return {name: tree(proc.pid) for name, proc in zip(self.names, self.procs, strict=True)}

    def idle_cpu(self, seconds: float = 5.0) -> dict[str, float]:
        """Each service's CPU seconds per second with no request coming."""
        before = self.cpu_seconds()
        time.sleep(seconds)
        after = self.cpu_seconds()
        return {name: round((after[name] - before[name]) / seconds, 4) for name in after}

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def env(self) -> dict[str, str]:
        env = os.environ | platform_env()
        for service, number in self.ports.items():
            env[f"SANAD_{service.upper()}_PORT"] = str(number)
            env[f"SANAD_{service.upper()}_URL"] = self.url(service)
        # Counted on every request, never refusing one during the run.
        env["SANAD_GATEWAY_RATE_LIMIT_PER_IP"] = str(10**9)
        env["SANAD_GATEWAY_RATE_LIMIT_PER_USER"] = str(10**9)
        env.pop("VIRTUAL_ENV", None)
        return env

    def start(self) -> None:
        env = self.env()
        for service in ("profile", "applications", "gateway"):
            log = (self.logs / f"{service}.log").open("ab")
            self.names.append(service)
            self.procs.append(
                subprocess.Popen(
                    [self.python, "-m", f"sanad.{service}", "serve"],
                    env=env,
                    cwd=self.tree,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        deadline = time.monotonic() + 400  # a loaded shared machine starts slowly
        for service in ("profile", "applications", "gateway"):
            while True:
                try:
                    if httpx.get(self.url(service) + "/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or any(p.poll() is not None for p in self.procs):
                    raise SystemExit(f"{service} did not become ready; see {self.logs}")
                time.sleep(0.5)

    def start_nginx(self, name: str) -> str:
        """nginx (Debian's) in front of our profile service: the same proxying as the
        gateway's for ``GET /v1/profile`` (keep-alive pool to the service, the forwarded
        address and a request id added). ``nginx`` is bare: no JWT check, no rate limit, the
        most any proxy could give on this path; ``nginx_lua`` counts both rate limits in
        Redis as the gateway does. Its base URL."""
        install_proxy_packages(lua=name == "nginx_lua")
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        port = self.ports["gateway"] + (9 if name == "nginx" else 8)
        self.ports[name] = port
        root = self.logs / name
        root.mkdir(exist_ok=True)
        temp = "\n".join(
            f"  {kind}_temp_path {root}/{kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        modules = http_extra = access = ""
        if name == "nginx_lua":
            from sanad.gateway.ratelimit import _COUNT
            from sanad.gateway.settings import GatewaySettings

            gateway = GatewaySettings()
            redis = httpx.URL(gateway.redis_url)
            modules = NGINX_LUA_MODULES
            http_extra = NGINX_LUA_HTTP % {"script": _COUNT}
            access = NGINX_LUA_ACCESS % {
                "host": redis.host,
                "port": redis.port or 6379,
                "user": gateway.redis_username,
                "password": gateway.redis_password.get_secret_value(),
            }
        (root / "nginx.conf").write_text(
            NGINX.format(
                modules=modules,
                workers=2,
                root=root,
                temp=temp,
                http_extra=http_extra,
                upstream=self.url("profile").removeprefix("http://"),
                port=port,
                access=access,
            )
        )
        log = (self.logs / f"{name}.log").open("ab")
        self.names.append(name)
        self.procs.append(
            subprocess.Popen(
                [binary, "-c", str(root / "nginx.conf"), "-p", str(root)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(self.url(name) + "/healthz", timeout=2).status_code == 200:
                    return self.url(name)
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.procs[-1].poll() is not None:
                raise SystemExit(f"{name} did not start; see {self.logs}")
            time.sleep(0.2)

    def stop(self) -> None:
        for proc in self.procs:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


async def otp_for(sms: httpx.AsyncClient, mobile: str) -> str:
    for _ in range(300):
        messages = (await sms.get("/messages", params={"to": mobile})).json()["messages"]
        if messages:
            found = re.search(r"\d{6}", messages[-1]["body"])
            assert found, messages[-1]
            return found.group()
        await asyncio.sleep(0.1)
    raise SystemExit(f"no OTP SMS reached {mobile}")


async def add_registry_records(people: list[tuple[str, str, str]]) -> None:
    """(national id, birth date, mobile) into identity's civil registry, in one transaction
    (what ``python -m sanad.identity add-registry-record`` does for one)."""
    from sanad.identity.adapters.civil_registry import TableCivilRegistry
    from sanad.identity.domain.registry import CivilRecord
    from sanad.identity.settings import IdentitySettings
    from sanad.shared.db import engine_for, session_factory

    os.environ.update(platform_env())
    settings = IdentitySettings()
    records = [
        CivilRecord.parse(
            {
                "national_id": national_id,
                "full_name_ar": "هند عبدالله",
                "full_name_en": "Hind Abdullah",
                "nationality": "SA",
                "sex": "F",
                "birth_date": birth_date,
                "marital_status": "widowed",
                "mobiles": mobile,
            }
        )
        for national_id, birth_date, mobile in people
    ]
    engine = engine_for(settings)
    try:
        async with session_factory(engine, producer=settings.service)() as session, session.begin():
            await TableCivilRegistry(session).add(records, replace=True)
    finally:
        await engine.dispose()


async def post(api: httpx.AsyncClient, url: str, body: dict[str, Any]) -> httpx.Response:
    """POST, waiting out identity's per-address limits (429/503 with Retry-After)."""
    for _ in range(120):
        answer = await api.post(url, json=body)
        if answer.status_code not in (429, 503):
            return answer
        await asyncio.sleep(float(answer.headers.get("retry-after", "1")))
    return answer


async def citizen(
    api: httpx.AsyncClient, sms: httpx.AsyncClient, person: tuple[str, str, str]
) -> tuple[str, str]:
    """A registered, signed-in citizen: (citizen id, access token)."""
    national_id, birth_date, mobile = person
    password = f"Bench-{uuid.uuid4().hex[:10]}!"
    started = await post(
        api,
        "/v1/auth/register",
        {
            "national_id": national_id,
            "date_of_birth": birth_date,
            "mobile": mobile,
            "password": password,
        },
    )
    assert started.status_code == 202, started.text
    verified = await post(
        api,
        "/v1/auth/register/verify",
        {
            "registration_id": started.json()["registration_id"],
            "code": await otp_for(sms, mobile),
        },
    )
    assert verified.status_code == 201, verified.text
    login = await post(api, "/v1/auth/login", {"national_id": national_id, "password": password})
    assert login.status_code == 200, login.text
    return verified.json()["citizen_id"], login.json()["access_token"]


async def draft(api: httpx.AsyncClient, token: str) -> str:
    """A SSP-DEV application with its form and documents, ready to submit."""
    auth = {"Authorization": f"Bearer {token}"}
    started = await api.post("/v1/applications", json={"program_code": "SSP-DEV"}, headers=auth)
    assert started.status_code == 201, started.text
    url = f"/v1/applications/{started.json()['application_id']}"
    form = {
        "monthly_income": "900",
        "family_size": 1,
        "employment_status": "employed",
        "payment": {"method": "iban", "iban": "SA03 8000 0000 6080 1016 7519"},
    }
    saved = await api.put(url, json=form, headers=auth)
    assert saved.status_code == 200, saved.text
    for number, kind in enumerate(DOCUMENTS):
        content = (JPEG if kind == "bank_account" else PDF) + bytes([number])
        uploaded = await api.post(
            f"{url}/documents",
            data={"kind": kind},
            files={"file": (f"{kind}.bin", content, "application/octet-stream")},
            headers=auth,
        )
        assert uploaded.status_code == 201, uploaded.text
    return url


def wrk(
    url: str,
    headers: dict[str, str],
    *,
    seconds: int,
    connections: int,
    threads: int,
    cpu: Callable[[], dict[str, float]],
    idle: dict[str, float],
) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="http-path-") as script:
        script.write(WRK_REPORT)
        script.flush()
        argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
        argv += ["-s", script.name]
        for name, value in headers.items():
            argv += ["-H", f"{name}: {value}"]
        # Warm up first (every worker's first requests build caches: the merged OpenAPI
        # index, the token keys), so the CPU per request is the steady state's.
        warm = [*argv[:3], "-d2s", *argv[4:]]
        subprocess.run([*warm, url], capture_output=True, check=True)
        load_before = os.getloadavg()[0]
        children = os.times()
        servers_before, wall = cpu(), time.monotonic()
        out = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
        servers_after, wall = cpu(), time.monotonic() - wall
        child_cpu = sum(os.times()[2:4]) - sum(children[2:4])
    line = next(line for line in out.splitlines() if line.startswith("WRKJSON "))
    raw = json.loads(line.removeprefix("WRKJSON "))
    seconds_run = raw["duration_us"] / 1e6
    return {
        "requests_per_s": round(raw["requests"] / seconds_run, 1),
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p90_ms": round(raw["p90_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "requests": raw["requests"],
        "errors": raw["socket_errors"] + raw["bad_status"],
        "client": f"wrk -t{threads} -c{connections} -d{seconds}s",
        "client_cpu_s": round(child_cpu, 2),
        # The servers' CPU per answered request (ms), less what each spends idle (its Kafka
        # consumers, its relay): what each hop costs, whatever the machine's load.
        "cpu_ms_per_request": {
            name: round(
                1000
                * (servers_after[name] - servers_before[name] - idle[name] * wall)
                / max(1, raw["requests"]),
                3,
            )
            for name in servers_after
        },
        "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


async def submits(gateway: str, ready: list[tuple[str, str]], concurrency: int) -> dict[str, Any]:
    latencies: list[float] = []
    queue = list(ready)
    load_before = os.getloadavg()[0]
    errors: Counter[str] = Counter()

    async def worker(client: httpx.AsyncClient) -> None:
        while queue:
            url, token = queue.pop()
            started = time.perf_counter()
            response = await client.post(
                f"{url}/submit",
                json={"declaration_accepted": True},
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
            )
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                json_body = response.headers.get("content-type", "").endswith("json")
                detail = response.json().get("type", "") if json_body else response.text[:60]
                errors[f"{response.status_code} {detail}"] += 1
            elif response.json()["status"] != "SUBMITTED":
                # decided already: eligibility and the platform's applications were quicker
                errors[f"200 but {response.json()['status']}"] += 1

    cpu = time.process_time()
    wall = time.perf_counter()
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=gateway, timeout=30, limits=limits) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    wall = time.perf_counter() - wall
    latencies.sort()
    return {
        "requests_per_s": round(len(latencies) / wall, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 2),
        "requests": len(latencies),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "client": f"httpx, {concurrency} at a time, each a different draft",
        "client_cpu_s": round(time.process_time() - cpu, 2),
        "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


async def prepare(instances: Instances, drafts: int) -> dict[str, Any]:
    """One reader citizen with a draft (the status read), and ``drafts`` citizens each with a
    draft ready to submit. Registration goes through the platform's own gateway."""
    env = platform_env()
    # No keep-alive while setting up: on a loaded machine a server may close an idle
    # connection just as the client reuses it.
    fresh = httpx.Limits(max_keepalive_connections=0)
    async with (
        httpx.AsyncClient(
            base_url=env["SANAD_GATEWAY_URL"], timeout=60, limits=fresh
        ) as platform_api,
        httpx.AsyncClient(base_url=instances.url("gateway"), timeout=60, limits=fresh) as api,
        httpx.AsyncClient(base_url=env["SANAD_SMS_BASE_URL"], timeout=10, limits=fresh) as sms,
    ):
        gate = asyncio.Semaphore(3)
        persons = [
            (new_national_id(), "1984-09-30", f"+96655{random.randrange(10**7):07d}")
            for _ in range(drafts + 1)
        ]
        await add_registry_records(persons)

        async def one(person: tuple[str, str, str]) -> tuple[str, str]:
            async with gate:
                return await citizen(platform_api, sms, person)

        started = time.perf_counter()
        people = await asyncio.gather(*(one(person) for person in persons))
        print(f"  {len(people)} citizens registered in {time.perf_counter() - started:.0f} s")
        reader_id, reader_token = people[0]
        urls = await asyncio.gather(*(draft(api, token) for _, token in people))
    return {
        "reader_token": reader_token,
        "reader_id": reader_id,
        "status_url": urls[0],
        "ready": [(url, token) for url, (_, token) in zip(urls[1:], people[1:], strict=True)],
    }


def main() -> None:
    # The local platform's dev credentials (settings refuse them outside dev/test).
    os.environ.setdefault("SANAD_ENV", "dev")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", type=Path, default=REPO, help="source tree to run")
    parser.add_argument("--label", default="after")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--drafts", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--base-port", type=int, default=int(os.environ.get("SANAD_GATEWAY_PORT", 8000)) + 50
    )
    parser.add_argument("--output", type=Path, default=RESULTS / "http_path.json")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated cases to run (e.g. profile_direct,profile_gateway); all if empty",
    )
    parser.add_argument(
        "--proxy",
        choices=["nginx", "nginx-lua"],
        help="also measure Debian's nginx before the profile service, bare (no JWT, no rate "
        "limit); nginx-lua also with both rate limits counted in Redis (its Lua module)",
    )
    args = parser.parse_args()
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    submitting = not only or "submit_gateway" in only
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: ./sanad installs it (apt-get install wrk)")

    logs = Path(tempfile.mkdtemp(prefix="http-path-logs-"))
    instances = Instances(args.tree.resolve(), args.base_port, logs)
    commit = subprocess.run(
        ["git", "-C", str(instances.tree), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    print(
        f"[{args.label}] starting profile, applications, gateway from {instances.tree} ({commit})"
    )
    try:
        instances.start()
        print("  ready; registering citizens and preparing drafts")
        data = asyncio.run(prepare(instances, args.drafts if submitting else 0))
        auth = {"Authorization": f"Bearer {data['reader_token']}"}
        profile = httpx.get(instances.url("gateway") + "/v1/profile", headers=auth, timeout=10)
        assert profile.status_code == 200, profile.text
        etag = profile.headers.get("etag", "")
        cases = {
            "health": (instances.url("profile") + "/healthz", {}),
            "profile_direct": (instances.url("profile") + "/v1/profile", auth),
            "profile_gateway": (instances.url("gateway") + "/v1/profile", auth),
            "profile_gateway_304": (
                instances.url("gateway") + "/v1/profile",
                auth | {"If-None-Match": etag},
            ),
            "application_direct": (instances.url("applications") + data["status_url"], auth),
            "application_gateway": (instances.url("gateway") + data["status_url"], auth),
            "applications_list_direct": (
                instances.url("applications") + "/v1/applications",
                auth,
            ),
            "applications_list_gateway": (instances.url("gateway") + "/v1/applications", auth),
        }
        if args.proxy:
            # Measured right after the gateway read, for the closest comparison.
            proxied = [("profile_nginx_bare", "nginx")]
            if args.proxy == "nginx-lua":
                proxied.append(("profile_nginx_lua_limits", "nginx_lua"))
            extra = [
                (case, (instances.start_nginx(name) + "/v1/profile", auth))
                for case, name in proxied
            ]
            cases = {
                name: case
                for name, case in cases.items()
                for name, case in (
                    [(name, case), *extra] if name == "profile_gateway" else [(name, case)]
                )
            }
        idle = instances.idle_cpu()
        figures: dict[str, Any] = {"idle_cpu_per_s": idle}
        for name, (url, headers) in cases.items():
            if only and name not in only:
                continue
            check = httpx.get(url, headers=headers, timeout=10)
            assert check.status_code in (200, 304), (name, check.status_code, check.text)
            figures[name] = wrk(
                url,
                headers,
                seconds=args.seconds,
                connections=args.connections,
                threads=args.threads,
                cpu=instances.cpu_seconds,
                idle=idle,
            ) | {"status": check.status_code}
            f = figures[name]
            cpu = "  ".join(f"{k} {v}" for k, v in f["cpu_ms_per_request"].items() if v >= 0.01)
            print(
                f"  {name:28} {f['requests_per_s']:>9} req/s  p50 {f['p50_ms']} ms  "
                f"p99 {f['p99_ms']} ms  load {f['load_average_1m']}  CPU ms/request: {cpu}"
            )
        if submitting:
            print("  waiting for the drafts' profiles to reach applications")
            # The submit waits for each citizen's profile to reach applications via Kafka.
            asyncio.run(_profiles_in_applications(instances.url("gateway"), data["ready"]))
            figures["submit_gateway"] = asyncio.run(
                submits(instances.url("gateway"), data["ready"], args.concurrency)
            )
            s = figures["submit_gateway"]
            print(
                f"  {'submit_gateway':28} {s['requests_per_s']:>9} req/s  "
                f"p50 {s['p50_ms']} ms  p99 {s['p99_ms']} ms  "
                f"errors {s['errors']} {s['error_kinds'] or ''}"
            )
    finally:
        instances.stop()
    run: dict[str, Any] = {
        "label": args.label,
        "commit": commit,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    if "profile_direct" in figures and "profile_gateway" in figures:
        direct, through = figures["profile_direct"], figures["profile_gateway"]
        # The gateway's own CPU per read against the service's: what the hop costs on any machine.
        cost = hop_cost(direct, through, "gateway")
        run["gateway_cost_vs_direct"] = cost["cost_vs_direct"]
        run["gateway_cpu_vs_service"] = cost["cpu_vs_service"]
        print(
            f"  gateway costs {run['gateway_cost_vs_direct']:.0%} of the direct rate; its CPU "
            f"per read is {run['gateway_cpu_vs_service']:.0%} of the profile service's"
        )
    if "profile_nginx_bare" in figures and "profile_direct" in figures:
        nginx, direct = figures["profile_nginx_bare"], figures["profile_direct"]
        version = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr
        run["proxy"] = {
            "name": "nginx",
            "version": version.strip().removeprefix("nginx version: "),
            "setup": "bare: keep-alive upstream pool, X-Forwarded-For, X-Request-ID; "
            "no JWT check, no rate limit, 2 workers",
            **hop_cost(direct, nginx, "nginx"),
        }
        print(
            f"  nginx (bare) costs {run['proxy']['cost_vs_direct']:.0%} of the direct rate; "
            f"its CPU per read is {run['proxy']['cpu_vs_service']:.0%} of the service's"
        )
    if "profile_nginx_lua_limits" in figures and "proxy" in run:
        lua, direct = figures["profile_nginx_lua_limits"], figures["profile_direct"]
        run["proxy"]["with_redis_limits"] = {
            "setup": "libnginx-mod-http-lua + lua-nginx-redis: the gateway's Lua script by "
            "EVALSHA on a pooled connection, the user keyed by a hash of the token",
            **hop_cost(direct, lua, "nginx_lua"),
        }
    run["figures"] = figures
    previous = json.loads(args.output.read_text()) if args.output.exists() else {}
    runs = [r for r in previous.get("runs", []) if isinstance(r, dict)]
    runs.append(run)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps({"command": "uv run python bench/http_path.py", "runs": runs}, indent=2) + "\n"
    )
    print(f"wrote {args.output}")


def hop_cost(direct: dict[str, Any], through: dict[str, Any], hop: str) -> dict[str, float]:
    """What a hop in front of the profile service costs: the direct rate over the rate through
    it, less one, and the hop's CPU per read over the service's."""
    return {
        "cost_vs_direct": round(direct["requests_per_s"] / through["requests_per_s"] - 1, 3),
        "cpu_vs_service": round(
            through["cpu_ms_per_request"][hop]
            / max(0.001, direct["cpu_ms_per_request"]["profile"]),
            3,
        ),
    }


async def _profiles_in_applications(gateway: str, ready: list[tuple[str, str]]) -> None:
    """A submit needs the citizen's profile in applications (ProfileUpdated, via Kafka). A
    submit without the declaration answers 422 naming what is missing and changes nothing:
    poll with it until ``profile`` is no longer among the missing."""
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as client:
        for url, token in ready:
            for _ in range(600):
                answer = await client.post(
                    f"{url}/submit",
                    json={"declaration_accepted": False},
                    headers={"Authorization": f"Bearer {token}"},
                )
                if "profile" not in answer.json().get("missing", []):
                    break
                await asyncio.sleep(0.1)


if __name__ == "__main__":
    main()
