"""A real Apache Kafka 4 broker (KRaft, one node) from Maven Central jars on the local JDK."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import uuid
from pathlib import Path

from sanad.platform import procs
from sanad.platform.layout import KAFKA_CONTROLLER_PORT, KAFKA_PORT, LOCAL, REPO, port
from sanad.platform.postgres import PlatformError
from sanad.shared.kafka_clients import SASL_MECHANISM, KafkaCredentials

NAME = "kafka"
KAFKA_DIR = LOCAL / "kafka"
LIBS = KAFKA_DIR / "libs"
DATA = KAFKA_DIR / "data"
POM = REPO / "deploy" / "kafka" / "pom.xml"
TEMPLATE = REPO / "deploy" / "kafka" / "server.properties.template"
LOG4J = REPO / "deploy" / "kafka" / "log4j2.yaml"
PROPERTIES = KAFKA_DIR / "server.properties"
# The SCRAM users the storage was formatted with (names and a digest of their passwords).
USERS_STAMP = KAFKA_DIR / "scram-users.stamp"
JVM_FLAGS = [
    "-Xms512m",
    "-Xmx1g",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-XX:MaxInlineLevel=15",
    "-Djava.awt.headless=true",
]


def _java() -> str:
    java = shutil.which("java")
    if java is None:
        raise PlatformError("java not found: Kafka needs a JDK 17 (apt-get install openjdk-17-jdk)")
    return java


def ensure_jars() -> bool:
    """Fetch the broker's jars with Maven unless the pom is unchanged since. True if fetched."""
    stamp = KAFKA_DIR / "libs.stamp"
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest and any(LIBS.glob("kafka_2.13-*.jar")):
        return False
    mvn = shutil.which("mvn")
    if mvn is None:
        raise PlatformError(
            "mvn not found: the Kafka jars are fetched with Maven (apt-get install maven)"
        )
    if LIBS.exists():
        shutil.rmtree(LIBS)
    result = subprocess.run(
        [
            mvn,
            "-B",
            "-q",
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={LIBS}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise PlatformError(
            "fetching Kafka jars with Maven failed:\n"
            f"{result.stdout[-1500:]}{result.stderr[-1500:]}"
        )
    stamp.write_text(digest)
    return True


def _classpath() -> str:
    return f"{LIBS}/*"


def _render_properties(admin: KafkaCredentials) -> None:
    PROPERTIES.touch(mode=0o600)  # it holds the admin's password
    PROPERTIES.chmod(0o600)
    PROPERTIES.write_text(
        TEMPLATE.read_text().format(
            port=port(KAFKA_PORT),
            controller_port=port(KAFKA_CONTROLLER_PORT),
            data_dir=DATA,
            admin_user=admin.username,
            admin_password=admin.password,
        )
    )


def _users_stamp(users: list[KafkaCredentials]) -> str:
    listed = sorted((user.username, user.password) for user in users)
    return hashlib.sha256(json.dumps(listed).encode()).hexdigest()


def random_cluster_id() -> str:
    """What StorageTool random-uuid prints: a url-safe base64 uuid that, like Kafka's own
    ``Uuid.randomUuid``, never starts with '-' (the CLI would read it as an option)."""
    while True:
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not candidate.startswith("-"):
            return candidate


def _format_storage(users: list[KafkaCredentials]) -> bool:
    """Format the storage with every principal as a SCRAM user (in the same JVM run, so a cold
    start pays nothing for them). Storage formatted with other users — or before the broker
    authenticated — is formatted again: its topics are recreated empty. True if formatted."""
    stamp = _users_stamp(users)
    if (DATA / "meta.properties").exists():
        if USERS_STAMP.exists() and USERS_STAMP.read_text() == stamp:
            return False
        shutil.rmtree(DATA)
    cluster_file = KAFKA_DIR / "cluster-id"
    if not cluster_file.exists():
        cluster_file.write_text(random_cluster_id())
    result = subprocess.run(
        [
            _java(),
            "-cp",
            _classpath(),
            f"-Dlog4j2.configurationFile={LOG4J}",
            "kafka.tools.StorageTool",
            "format",
            f"--cluster-id={cluster_file.read_text().strip()}",
            "-c",
            str(PROPERTIES),
            "--standalone",
            "-g",
            *(
                arg
                for user in users
                for arg in (
                    "--add-scram",
                    f"{SASL_MECHANISM}=[name={user.username},password={user.password}]",
                )
            ),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise PlatformError(
            f"formatting Kafka storage failed: {(result.stderr or result.stdout)[-1500:]}"
        )
    USERS_STAMP.write_text(stamp)
    return True


def start(users: list[KafkaCredentials], admin: KafkaCredentials) -> str:
    """Returns 'started', 'running' (ours) or 'external' (something else has the port)."""
    if procs.running_pid(NAME):
        if not USERS_STAMP.exists():
            raise PlatformError(
                "the running Kafka was started before the broker authenticated clients: "
                "`./sanad down && ./sanad up` restarts it with SASL and ACLs (its storage is "
                "formatted again: topics come back empty)"
            )
        return "running"
    if procs.port_open(port(KAFKA_PORT)):
        return "external"
    KAFKA_DIR.mkdir(parents=True, exist_ok=True)
    ensure_jars()
    _render_properties(admin)
    _format_storage([admin, *users])
    procs.spawn(
        NAME,
        [
            _java(),
            *JVM_FLAGS,
            f"-Dlog4j2.configurationFile={LOG4J}",
            f"-Dkafka.logs.dir={KAFKA_DIR / 'logs'}",
            "-cp",
            _classpath(),
            "kafka.Kafka",
            str(PROPERTIES),
        ],
        marker="kafka.Kafka",
    )
    return "started"


def started_line_seen() -> bool:
    log = procs.log_path(NAME)
    if not log.exists():
        return False
    text = log.read_text(errors="replace")
    last_start = text.rfind("--- ")
    return "Kafka Server started" in text[last_start:]


def data_dir() -> Path:
    return DATA
