"""`make run`: start the embedded stack and keep it running until interrupted.

moto's server plays DynamoDB/S3/SQS on 127.0.0.1 (in memory: everything is gone when it stops), the
tables are created from the same models the app uses, a test-mode demo tenant is provisioned, `chalice
local` serves the API, and a tick loop stands in for the EventBridge rule."""
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEMO_TENANT_ID = "demo"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env_port(name: str, default: int) -> int:
    value = int(os.environ.get(name, default))
    return value or free_port()


def start_moto(port: int):
    import logging

    from moto.server import ThreadedMotoServer

    from . import dynamodb_limits, moto_speed
    from .atomic import serialize_dynamodb_requests
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per DynamoDB call drowns the rest
    serialize_dynamodb_requests()
    moto_speed.install()  # a Query costs its partition, not the whole table (moto 5.2.5 sorts every item)
    dynamodb_limits.install()  # a warning for each request real DynamoDB would refuse (moto accepts more)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server


def configure_environment(moto_port: int, admin_key: str) -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_REGION", os.environ["AWS_DEFAULT_REGION"])
    os.environ.setdefault("DYNAMODB_ENDPOINT_URL", f"http://127.0.0.1:{moto_port}")
    os.environ.setdefault("S3_ENDPOINT_URL", f"http://127.0.0.1:{moto_port}")  # moto's server plays S3 too
    os.environ.setdefault("SQS_ENDPOINT_URL", f"http://127.0.0.1:{moto_port}")  # and SQS (fan-out work units)
    # Log lines stay (JSON, one per request, job and unit); EMF metric documents are for CloudWatch, and one per
    # tick and per job would drown the rest here: POWERTOOLS_METRICS_DISABLED=false prints them too.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ["BILLRUN_STAGE"] = "local"
    os.environ["BILLRUN_TABLE_PREFIX"] = "billrun-local"
    os.environ["BILLRUN_ADMIN_KEY"] = admin_key


def provision_demo_tenant() -> str:
    """The demo tenant is test-mode; BILLRUN_DEMO_API_KEY chooses its key, else a random one is made."""
    from ..domain.timeutil import wall_now
    from ..services import tenants
    from ..store import pdfs, tables, work_queue

    tables.create_all()
    pdfs.ensure_bucket()
    work_queue.ensure_queues()
    _, _, secret = tenants.provision(name="Demo", test_mode=True, timezone="UTC", currency="USD",
                                     clock_start=None, now=wall_now(), tenant_id=DEMO_TENANT_ID,
                                     key_secret=os.environ.get("BILLRUN_DEMO_API_KEY") or None)
    return secret


def start_api(port: int) -> subprocess.Popen:
    chalice = Path(sys.executable).with_name("chalice")
    return subprocess.Popen([str(chalice), "local", "--host", "127.0.0.1", "--port", str(port), "--stage",
                             "local", "--no-autoreload"], cwd=ROOT, env=os.environ.copy())


def wait_until_up(port: int, api: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if api.poll() is not None:
            raise SystemExit(f"chalice local exited with status {api.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the API did not answer on port {port} within {timeout:.0f} s")


def main() -> None:
    port = _env_port("BILLRUN_PORT", 8000)
    moto_port = _env_port("BILLRUN_MOTO_PORT", 4566)
    # timer durations in seconds for Event.wait and time.monotonic (never money or quantities): float is right
    tick_seconds = float(os.environ.get("BILLRUN_TICK_SECONDS", "60"))
    stop_after = float(os.environ.get("BILLRUN_STOP_AFTER_SECONDS", "0"))  # tests bound the stack's life
    admin_key = os.environ.get("BILLRUN_ADMIN_KEY") or secrets.token_urlsafe(24)

    moto = start_moto(moto_port)
    configure_environment(moto_port, admin_key)
    demo_key = provision_demo_tenant()
    api = start_api(port)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        wait_until_up(port, api)
        print(f"billrun ready: http://127.0.0.1:{port} api-key={demo_key} admin-key={admin_key}", flush=True)
        print(f"  store: moto server at {os.environ['DYNAMODB_ENDPOINT_URL']} (in memory; gone when this stops)",
              flush=True)
        _supervise(api, stop, tick_seconds, stop_after)
    finally:
        api.terminate()
        try:
            api.wait(timeout=10)
        except subprocess.TimeoutExpired:
            api.kill()
        moto.stop()


def _supervise(api: subprocess.Popen, stop: threading.Event, tick_seconds: float, stop_after: float) -> None:
    from .ticker import run_tick_loop, run_worker_loop

    ticker = threading.Thread(target=run_tick_loop, args=(tick_seconds, stop), daemon=True, name="tick-loop")
    ticker.start()
    worker = threading.Thread(target=run_worker_loop, args=(stop,), daemon=True, name="worker-loop")
    worker.start()
    started = time.monotonic()
    while not stop.wait(0.5):
        if api.poll() is not None:
            print(f"chalice local exited with status {api.returncode}; stopping", flush=True)
            stop.set()
        elif stop_after and time.monotonic() - started > stop_after:
            stop.set()
    ticker.join(timeout=tick_seconds + 5)
    worker.join(timeout=10)


if __name__ == "__main__":
    main()
