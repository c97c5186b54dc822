"""The bench's moto server, in a child process of its own (so moto and billrun each get a core):
`python -m bench.moto_server PORT` starts the embedded stack's moto server (chalicelib.local.stack.start_moto),
prices DynamoDB requests by the documented rules (bench/capacity.py), prints `ready` and serves until its
standard input closes (the bench ended or died)."""
import os
import subprocess
import sys
from pathlib import Path

READY = "ready"
ROOT = Path(__file__).resolve().parents[1]


def main(port: int) -> None:
    from chalicelib.local.stack import start_moto

    from . import capacity

    server = start_moto(port)
    capacity.install()  # after start_moto: it wraps the Query that moto_speed installs there
    print(READY, flush=True)
    os.dup2(2, 1)  # nobody reads our stdout from now on: anything printed goes to stderr
    try:
        sys.stdin.read()  # EOF when the parent closes the pipe or dies
    finally:
        server.stop()


def spawn(port: int) -> subprocess.Popen:
    """Starts the server in a child process and waits until it serves."""
    child = subprocess.Popen([sys.executable, "-m", "bench.moto_server", str(port)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, cwd=ROOT)
    line = child.stdout.readline()
    if line.strip() != READY:
        child.kill()
        raise SystemExit(f"the bench's moto server did not start (said {line!r})")
    return child


def stop(child: subprocess.Popen) -> None:
    child.stdin.close()
    try:
        child.wait(timeout=10)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


if __name__ == "__main__":
    main(int(sys.argv[1]))
