"""A throwaway Spark cluster for the tests and the perf harness: the pinned pyspark package's own jars run by Debian's
openjdk-17-jre-headless, as a standalone master, two workers and one application serving two endpoints on free
loopback ports: Spark's Thrift server (HiveServer2: JDBC/ODBC, what BI tools use) with Spark Connect (what the product
uses) inside it as a plugin, with a Derby metastore and a warehouse folder in a temporary directory, stopped and
deleted at the end. A real cluster, not a stand-in (the shape of simulator/throwaway_postgres.py).

One application, not a Connect server beside a Thrift server: two applications have two catalogs, and views made
through one would be invisible to the other unless both used a shared metastore service (docs/spark.md)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from simulator.throwaway_postgres import free_port

START_TIMEOUT_S = 180
WORKERS = 2
WORKER_MEMORY = "1g"  # what a worker offers its executors
EXECUTOR_MEMORY = "512m"
DRIVER_MEMORY = "768m"  # the Thrift server (and Connect inside it) is the application's driver
THRIFT_SERVER = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
CONNECT_PLUGIN = "org.apache.spark.sql.connect.SparkConnectPlugin"
DAEMON_MEMORY = "256m"  # the master's and the workers' own heap
# Every endpoint evaluates dates in UTC, or day buckets would differ by client (docs/spark.md).
SESSION_SETTINGS = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "4",  # the default 200 is for large data; 4 tasks suit two 1-core executors
    # AQE merges small shuffle partitions by size, not only down to the cores: a view's count(*) 7.4 s -> 3.7 s at
    # the tiny scale (docs/spark.md, performance)
    "spark.sql.adaptive.coalescePartitions.parallelismFirst": "false",
}


class SparkUnavailable(Exception):
    """No java or no pyspark, or the cluster would not start; the message says why (and where its logs are)."""


def spark_home() -> Path:
    """The pyspark package's folder: its jars/, bin/ and sbin/ are a Spark distribution."""
    try:
        import pyspark
    except ImportError:
        raise SparkUnavailable("pyspark is not installed: pip install -e '.[spark]'") from None
    return Path(pyspark.__file__).resolve().parent


@dataclass(eq=False)  # one cluster is one cluster: hashable by identity
class ThrowawaySpark:
    directory: Path
    master_port: int = field(default_factory=free_port)
    master_ui_port: int = field(default_factory=free_port)
    connect_port: int = field(default_factory=free_port)
    thrift_port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen] = field(default_factory=list)
    logs: dict[int, Path] = field(default_factory=dict)  # process id -> its output

    @property
    def master_url(self) -> str:
        return f"spark://127.0.0.1:{self.master_port}"

    @property
    def connect_url(self) -> str:
        """What a client gives `SparkSession.builder.remote` (and the product's `destination.spark.connect_url`)."""
        return f"sc://127.0.0.1:{self.connect_port}"

    def thrift_url(self, database: str = "default", driver: str = "hive") -> str:
        """The Thrift server as SQLAlchemy names it: PyHive's `hive://` (Superset's "Apache Spark SQL" URI), or
        `hive+spark://` (pipelines/readers/spark_thrift.py)."""
        return f"{driver}://127.0.0.1:{self.thrift_port}/{database}"

    @property
    def warehouse_dir(self) -> Path:
        return self.directory / "warehouse"

    def start(self) -> ThrowawaySpark:
        if shutil.which("java") is None:
            raise SparkUnavailable("no java: install Debian's openjdk-17-jre-headless (.ci/run does)")
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            self._launch("master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                         "--port", str(self.master_port), "--webui-port", str(self.master_ui_port))
            for number in range(WORKERS):
                self._launch(f"worker{number}", "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                             "--cores", "1", "--memory", WORKER_MEMORY, "--webui-port", str(free_port()),
                             "--work-dir", str(self.directory / f"worker{number}"), self.master_url)
            self._wait_for("two workers registered", self._workers_alive)
            self._launch_endpoints()
            self._wait_for("the Connect endpoint answering", self._connect_answers)
            self._wait_for("the Thrift server listening", self._thrift_listens)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop every process this cluster started (each in a process group of its own), then delete its folder."""
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()
        shutil.rmtree(self.directory, ignore_errors=True)

    def memory_bytes(self) -> int:
        """The resident memory of every JVM of the cluster (its daemons, the driver and the executors)."""
        import psutil

        total = 0
        for process in self.processes:
            with suppress(psutil.Error):  # exited while being measured: counts as none
                parent = psutil.Process(process.pid)
                total += sum(p.memory_info().rss for p in [parent, *parent.children(recursive=True)])
        return total

    def _launch_endpoints(self) -> None:
        """The Thrift server's application with Connect as its plugin: one driver, one catalog for both."""
        metastore = self.directory / "metastore_db"
        settings = {
            **SESSION_SETTINGS,
            "spark.plugins": CONNECT_PLUGIN,
            "spark.connect.grpc.binding.address": "127.0.0.1",
            "spark.connect.grpc.binding.port": str(self.connect_port),
            "spark.sql.catalogImplementation": "hive",  # a persistent catalog: views outlive a session
            # no table's file listing is kept in a session, so a session sees every load's files (docs/spark.md)
            "spark.sql.filesourceTableRelationCacheSize": "0",
            "spark.sql.warehouse.dir": str(self.warehouse_dir),
            "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={metastore};create=true",
            "spark.driver.extraJavaOptions": f"-Dderby.system.home={self.directory}",
            "spark.executor.memory": EXECUTOR_MEMORY,
            "spark.ui.enabled": "false",
        }
        hive = {"hive.server2.thrift.bind.host": "127.0.0.1", "hive.server2.thrift.port": str(self.thrift_port)}
        options = [item for key, value in settings.items() for item in ("--conf", f"{key}={value}")]
        # "spark-internal": the primary resource spark-submit expects for a class of Spark's own jars
        self._launch("endpoints", "spark-submit", "--master", self.master_url, "--class", THRIFT_SERVER,
                     "--name", "benchmarks-endpoints", *options, "spark-internal",
                     *(item for key, value in hive.items() for item in ("--hiveconf", f"{key}={value}")))

    def _launch(self, name: str, java_class: str, *arguments: str) -> None:
        """`java_class` run by bin/spark-class (a daemon), or "spark-submit" (an application) with `arguments`."""
        home = spark_home()
        environment = {
            **os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_CONNECT_MODE": "0",
            "SPARK_LOG_DIR": str(self.directory), "SPARK_CONF_DIR": str(self.directory / "conf"),
            # the master's REST submission server would take the fixed port 6066
            # spark-submit sizes the Connect (and Thrift) server's driver by SPARK_DAEMON_MEMORY, not --driver-memory
            "SPARK_DAEMON_MEMORY": DRIVER_MEMORY if java_class == "spark-submit" else DAEMON_MEMORY,
            "SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false",
        }
        command = [str(home / "bin" / "spark-submit")] if java_class == "spark-submit" else [
            str(home / "bin" / "spark-class"), java_class]
        log_path = self.directory / f"{name}.log"
        log = log_path.open("ab")
        self.processes.append(subprocess.Popen(
            [*command, *arguments], cwd=self.directory, env=environment,
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        ))
        log.close()
        self.logs[self.processes[-1].pid] = log_path

    def _wait_for(self, what: str, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            exited = [self.logs[p.pid] for p in self.processes if p.poll() is not None]
            if exited:
                raise SparkUnavailable(f"{exited[0].stem} exited: {_first_error(exited[0])}")
            if ready():
                return
            time.sleep(0.5)
        raise SparkUnavailable(f"no {what} after {START_TIMEOUT_S} s")

    def _workers_alive(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.master_ui_port}/json/", timeout=2) as response:
                return json.load(response).get("aliveworkers", 0) >= WORKERS
        except (OSError, ValueError):
            return False

    def _connect_answers(self) -> bool:
        from pyspark.sql import SparkSession

        try:  # a client would retry for minutes against a port nobody listens on yet
            socket.create_connection(("127.0.0.1", self.connect_port), timeout=2).close()
            session = SparkSession.builder.remote(self.connect_url).create()
        except Exception:  # noqa: BLE001 - not listening yet
            return False
        try:
            return session.sql("select 1").collect()[0][0] == 1
        except Exception:  # noqa: BLE001 - listening, not serving yet
            return False
        finally:
            session.stop()

    def _thrift_listens(self) -> bool:
        """The Thrift server opens its port last, once the application's session is up."""
        try:
            socket.create_connection(("127.0.0.1", self.thrift_port), timeout=2).close()
        except OSError:
            return False
        return True


def _first_error(log: Path) -> str:
    """The first line of the log that names an error (the folder and its logs are deleted when start fails)."""
    lines = log.read_text(errors="replace").splitlines()
    at = next((number for number, line in enumerate(lines) if " ERROR " in line), len(lines) - 2)
    return " ".join(lines[max(at, 0):at + 2])[:600]
