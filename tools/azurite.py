"""Start the Azurite storage emulator for tests and the demo, and stop it afterwards.

``python tools/azurite.py run -- COMMAND...`` starts Azurite (installed from the
npm registry into node_modules by the Makefile) on free loopback ports, with
telemetry off and its data in a temporary folder, exports the connection string
as ``RISKWATCH_STORAGE_CONNECTION`` and ``AzureWebJobsStorage``, runs COMMAND and
stops Azurite whatever COMMAND did. Tests use ``start()`` directly when run
without the Makefile.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BINARY = ROOT / "node_modules" / ".bin" / "azurite"
# Azurite's published development account key (a well-known constant, not a secret).
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
ENV_NAME = "RISKWATCH_STORAGE_CONNECTION"


@dataclass
class Azurite:
    process: subprocess.Popen[bytes]
    workdir: str
    blob_port: int
    queue_port: int
    table_port: int

    @property
    def connection_string(self) -> str:
        host = "http://127.0.0.1"
        return (
            f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
            f"BlobEndpoint={host}:{self.blob_port}/{DEV_ACCOUNT};"
            f"QueueEndpoint={host}:{self.queue_port}/{DEV_ACCOUNT};"
            f"TableEndpoint={host}:{self.table_port}/{DEV_ACCOUNT};"
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(port: int, process: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"azurite exited early with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"azurite did not listen on port {port} in time")


def start(timeout: float = 30.0) -> Azurite:
    if not BINARY.exists():
        raise RuntimeError(f"{BINARY} is missing: run `make setup` (npm ci) first")
    workdir = tempfile.mkdtemp(prefix="riskwatch-azurite-")
    ports = [_free_port() for _ in range(3)]
    command = [
        str(BINARY),
        "--silent",
        "--disableTelemetry",
        "--skipApiVersionCheck",
        "--loose",
        "--location",
        workdir,
        "--blobPort",
        str(ports[0]),
        "--queuePort",
        str(ports[1]),
        "--tablePort",
        str(ports[2]),
    ]
    log = Path(workdir, "azurite.log").open("wb")  # noqa: SIM115 - lives as long as the process
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    azurite = Azurite(process, workdir, *ports)
    deadline = time.monotonic() + timeout
    try:
        for port in ports:
            _wait_for(port, process, deadline)
    except RuntimeError:
        azurite.stop()
        raise
    return azurite


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] != "run" or "--" not in argv:
        print("usage: python tools/azurite.py run -- COMMAND...", file=sys.stderr)
        return 2
    command = argv[argv.index("--") + 1 :]
    azurite = start()
    env = dict(os.environ)
    env[ENV_NAME] = azurite.connection_string
    env["AzureWebJobsStorage"] = azurite.connection_string
    try:
        return subprocess.call(command, env=env)  # noqa: S603
    finally:
        azurite.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
