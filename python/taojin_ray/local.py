"""A throwaway Ray cluster on loopback: a head and `nodes - 1` worker nodes started by
`ray start --block`, for trying the launcher on one machine, its tests and its bench.
Leaving the context stops the `ray start` processes, and with them everything they
started; it then checks that no process of the cluster's session is left."""

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

RAY = os.path.join(os.path.dirname(sys.executable), "ray")


def free_port():
    """A TCP port free on loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def procs_under(folder):
    """Pids of live processes whose command line names `folder` (the cluster's temp folder)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if folder.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def _wait_nodes(address, n, timeout=90):
    deadline, out = time.time() + timeout, None
    while time.time() < deadline:
        out = subprocess.run([RAY, "status", "--address", address], capture_output=True, text=True)
        active = out.stdout.split("Pending:")[0]
        if out.returncode == 0 and len(re.findall(r"^\s*1 node_", active, re.M)) >= n:
            return
        time.sleep(1)
    raise RuntimeError(f"the Ray cluster at {address} did not reach {n} nodes:\n"
                       f"{out.stdout if out else ''}{out.stderr if out else ''}")


@contextlib.contextmanager
def local_cluster(nodes=2, cpus=2, object_store_bytes=100_000_000):
    """Yields the address (`127.0.0.1:PORT`) of a cluster of `nodes` nodes with `cpus`
    CPUs each. Raises RuntimeError if a process of it outlives the context."""
    if not os.path.exists(RAY):
        raise RuntimeError(f"no `ray` beside {sys.executable}: pip install ray")
    tmp = tempfile.mkdtemp(prefix="tjray-", dir="/tmp")  # short: Ray's socket paths
    address = f"127.0.0.1:{free_port()}"
    common = ["--block", "--num-cpus", str(cpus), "--node-ip-address", "127.0.0.1",
              "--object-store-memory", str(object_store_bytes), "--disable-usage-stats"]
    started, logs = [], []

    def start(name, argv):
        logs.append(open(os.path.join(tmp, f"{name}.log"), "w"))
        started.append(subprocess.Popen([RAY, "start", *argv, *common], stdout=logs[-1],
                                        stderr=subprocess.STDOUT))

    try:
        start("head", ["--head", "--port", address.split(":")[1], "--temp-dir", tmp,
                       "--include-dashboard=false"])
        _wait_nodes(address, 1)
        for i in range(1, nodes):
            start(f"worker-{i}", ["--address", address])
        _wait_nodes(address, nodes)
        yield address
    finally:
        for p in reversed(started):
            p.terminate()
        for p in started:
            p.wait(timeout=60)
        deadline = time.time() + 30
        while procs_under(tmp) and time.time() < deadline:
            time.sleep(0.5)
        left = procs_under(tmp)
        for f in logs:
            f.close()
        shutil.rmtree(tmp, ignore_errors=True)
        if left:
            raise RuntimeError(f"Ray processes still running after the cluster stopped: {left}")
