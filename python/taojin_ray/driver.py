"""The Ray driver of a taojin job (see the package docstring)."""

import argparse
import hashlib
import json
import logging
import os
import re
import signal
import socket
import sys
import time
import uuid

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib

# Opt in to Ray's coming default (it stops warning): taojin tasks use no accelerator.
os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")

try:
    import ray  # noqa: E402
except ModuleNotFoundError:  # pragma: no cover - the message is the point
    sys.exit("taojin_ray needs Ray: pip install 'ray>=2.9' (or ./python[ray])")

log = logging.getLogger("taojin_ray")

MAX_BACKOFF_S = 60.0
IN_USE = 4  # taojin's exit status when another run holds the output
TAIL_LINES = 20
NAMESPACE = "taojin"
DOCS = re.compile(r"\((\d+) docs in, (\d+) bytes in\)")


class JobFailed(RuntimeError):
    """The job could not start, or a task still failed after its retries (the message
    names the step and task and ends with the task's stderr tail). `in_use`: a task was
    refused because another run holds the output."""

    def __init__(self, message, in_use=False):
        super().__init__(message)
        self.in_use = in_use


def _remote_parts():
    """The remote function and the lock actor, defined here so that Ray ships them by
    value: a worker needs Python and Ray, not this package."""

    def die_with_parent():
        # The taojin process dies with the Ray worker that started it (PR_SET_PDEATHSIG),
        # so a cancelled task or a killed worker leaves no process writing behind.
        import ctypes
        import signal

        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)
        except OSError:
            pass

    def run(argv):
        import socket
        import subprocess
        import time

        start = time.time()
        p = subprocess.run(argv, capture_output=True, text=True, errors="replace",
                           preexec_fn=die_with_parent)
        return {"rc": p.returncode, "stdout": p.stdout[-8000:], "stderr": p.stderr[-8000:],
                "seconds": time.time() - start, "host": socket.gethostname()}

    class OutputLock:
        def __init__(self, holder):
            self.holder = holder

        def who(self):
            return self.holder

    return ray.remote(run), ray.remote(num_cpus=0)(OutputLock)


def _cluster_run_task():
    """A remote function that returns the cluster run kept under `key` in the Ray
    cluster's key-value store, storing `fresh` there first if there is none (the store
    lives as long as the cluster; a task reads it in client mode too)."""

    def cluster_run_of(key, fresh):
        from ray.experimental.internal_kv import _internal_kv_get, _internal_kv_put

        _internal_kv_put(key, fresh, overwrite=False, namespace="taojin")
        return _internal_kv_get(key, namespace="taojin").decode()

    return ray.remote(num_cpus=0)(cluster_run_of)


# What `taojin run --cluster-run` takes (`check_cluster_run_id` in the engine).
CLUSTER_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def _tail(text, lines=TAIL_LINES):
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _failure(result):
    """One task's failure in words: how its process ended, where, its stderr tail."""
    rc = result["rc"]
    how = f"exit status {rc}" if rc > 0 else f"killed by {signal.Signals(-rc).name}"
    tail = _tail(result["stderr"])
    return f"{how} on {result['host']}; " + (f"its stderr ends:\n{tail}" if tail else "no stderr")


def _read_ray_table(job_file):
    try:
        with open(job_file, "rb") as f:
            table = tomllib.load(f).get("ray", {})
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise JobFailed(f"{job_file}: {e}") from None
    if not isinstance(table, dict):
        raise JobFailed(f"{job_file}: `ray` must be a table")
    return table


def _paths_on_workers(job_file, taojin, runtime_env):
    """The job file and binary as workers see them: relative to `working_dir` when the
    runtime env ships one that holds them (Ray starts tasks there), else absolute."""
    job_file = os.path.abspath(job_file)
    wd = (runtime_env or {}).get("working_dir")
    if wd and "://" not in wd:
        wd = os.path.abspath(wd)
        if os.path.commonpath([wd, job_file]) == wd:
            job_file = os.path.relpath(job_file, wd)
    elif os.sep in taojin and os.path.exists(taojin):
        taojin = os.path.abspath(taojin)
    return job_file, taojin


def _node_cpus():
    """CPUs of the largest live node: what a reduce step asks for."""
    cpus = [int(n["Resources"].get("CPU", 0)) for n in ray.nodes() if n.get("Alive")]
    return max(cpus, default=1) or 1


class _Progress:
    """Tasks done, retries and throughput of one step, logged at most every 2 s."""

    def __init__(self, label, tasks):
        self.label, self.tasks = label, tasks
        self.start = self.last = time.time()
        self.done = self.retries = self.docs = self.bytes = 0

    def finished(self, result):
        self.done += 1
        m = DOCS.search(result["stdout"])
        if m:
            self.docs += int(m.group(1))
            self.bytes += int(m.group(2))
        now = time.time()
        if self.done == self.tasks or now - self.last >= 2:
            self.last = now
            log.info("%s", self.line())

    def line(self):
        secs = max(time.time() - self.start, 1e-9)
        rate = f", {self.docs / secs:,.0f} docs/s, {self.bytes / secs / 1e6:,.1f} MB/s" if self.docs else ""
        retries = f", {self.retries} retr{'y' if self.retries == 1 else 'ies'}" if self.retries else ""
        return f"{self.label}: {self.done}/{self.tasks} tasks done{retries}{rate}, {secs:.1f} s"


class _Step:
    """The tasks of one step on the cluster: submitted at once, a failed one submitted
    again after its backoff, until all succeed or one has used up its retries."""

    def __init__(self, run, step, label, argv_of, cpus, memory, max_retries, backoff):
        self.run, self.name, self.n = run, step["name"], step["tasks"]
        self.argv_of, self.cpus, self.memory = argv_of, cpus, memory
        self.max_retries, self.backoff = max_retries, backoff
        self.progress = _Progress(label, self.n)
        self.running, self.waiting, self.last = {}, [], {}

    def submit(self, i, attempt):
        opts = {"name": f"taojin {self.name} task {i}/{self.n}", "num_cpus": self.cpus,
                "max_retries": 0}
        SUBMITTED.add(opts["name"])
        if self.memory:
            opts["memory"] = self.memory
        ref = self.run.options(**opts).remote(self.argv_of(i, self.cpus))
        self.running[ref] = (i, attempt)

    def run_all(self):
        """Runs every task; returns the step's summary. Raises JobFailed when a task
        still fails after its retries; nothing of the step keeps running then (nor on
        Ctrl-C or a lost cluster)."""
        try:
            for i in range(self.n):
                self.submit(i, 0)
            while self.running or self.waiting:
                self.wait_once()
        except BaseException:
            for ref in self.running:
                ray.cancel(ref, force=True)
            raise
        p = self.progress
        return {"step": self.name, "tasks": self.n, "cpus": self.cpus, "retries": p.retries,
                "docs_in": p.docs, "seconds": round(time.time() - p.start, 3),
                "stdout": [self.last[i]["stdout"] for i in sorted(self.last)]}

    def wait_once(self):
        now = time.time()
        for w in [w for w in self.waiting if w[0] <= now]:
            self.waiting.remove(w)
            self.submit(w[1], w[2])
        due = min((w[0] for w in self.waiting), default=now + 5) - now
        if not self.running:
            time.sleep(max(due, 0.01))
            return
        ready, _ = ray.wait(list(self.running), num_returns=1, timeout=max(0.05, min(due, 5)))
        for ref in ready:
            i, attempt = self.running.pop(ref)
            self.finished(ref, i, attempt)

    def finished(self, ref, i, attempt):
        try:
            result = ray.get(ref)
            error = None if result["rc"] == 0 else _failure(result)
        except ray.exceptions.RayError as e:
            result, error = None, f"{type(e).__name__}: {_tail(str(e), 3)}"
        if error is None:
            self.last[i] = result
            self.progress.finished(result)
        elif result is not None and result["rc"] == IN_USE:
            # Another run holds the output: a retry cannot get in before that run ends.
            raise JobFailed(f"step {self.name}, task {i} of {self.n}: the output is in use; "
                            f"{error}", in_use=True)
        elif attempt < self.max_retries:
            self.progress.retries += 1
            delay = min(self.backoff * 2 ** attempt, MAX_BACKOFF_S)
            log.warning("%s: task %d/%d failed (%s), retry %d of %d in %.1f s",
                        self.progress.label, i, self.n, error.splitlines()[0], attempt + 1,
                        self.max_retries, delay)
            self.waiting.append((time.time() + delay, i, attempt + 1))
        else:
            raise JobFailed(f"step {self.name}, task {i} of {self.n}, failed after {attempt} "
                            f"retr{'y' if attempt == 1 else 'ies'}: {error}")


def run_job(job_file, taojin="taojin", address=None, max_retries=None, timeline=None,
            cluster_run=None):
    """Runs `job_file` on the Ray cluster at `address` (else `RAY_ADDRESS`, else the
    job's `[ray] address`, else `auto`); returns a summary per step. Every step runs as
    cluster run `cluster_run` (default: one per Ray cluster and output, see
    `_default_cluster_run`): the output's lock names it, so another cluster run on the
    output is refused until this one's finalize. With `timeline`, Ray's trace of the job's
    tasks (as the dashboard names them) is written there at the end, failed or not."""
    if cluster_run is not None and not CLUSTER_RUN_ID.fullmatch(cluster_run):
        raise JobFailed(f"--cluster-run {cluster_run!r}: use 1 to 64 letters, digits, '-', '_' "
                        "or '.', starting with a letter or digit")
    table = _read_ray_table(job_file)
    runtime_env = table.get("runtime_env")
    address = address or os.environ.get("RAY_ADDRESS") or table.get("address") or "auto"
    job_w, taojin_w = _paths_on_workers(job_file, taojin, runtime_env)
    try:
        ray.init(address=address, runtime_env=runtime_env, namespace=NAMESPACE,
                 log_to_driver=False, logging_level=logging.WARNING)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise JobFailed(f"cannot connect to the Ray cluster at {address}: {e}") from None
    log.info("connected to the Ray cluster at %s", address)
    try:
        return _run_job(job_w, taojin_w, max_retries, cluster_run)
    finally:
        if timeline:
            try:
                _write_timeline(timeline, SUBMITTED)
            except Exception as e:  # the job's own outcome matters more than its trace
                log.warning("timeline not written to %s: %s", timeline, e)
        ray.shutdown()


# Names of the Ray tasks this driver submitted (the trace waits for their events).
SUBMITTED = set()


def _write_timeline(path, names, wait_s=10):
    """Ray's events of this job's tasks (Ray's timeline holds every job of the cluster;
    a task id ends with its job's id) as Chrome trace JSON. Workers report events about
    once a second, so it waits, at most `wait_s`, until every submitted name is there."""
    job = ray.get_runtime_context().get_job_id()
    deadline = time.time() + wait_s
    while True:
        events = [e for e in ray.timeline()
                  if str((e.get("args") or {}).get("task_id", "")).endswith(job)]
        seen = {e["cat"][len("task::"):] for e in events if e.get("cat", "").startswith("task::")}
        if names <= seen or time.time() >= deadline:
            break
        time.sleep(0.5)
    with open(path, "w") as f:
        json.dump(events, f)


def _default_cluster_run(output):
    """The cluster run of this Ray cluster on `output`: a random id kept in the cluster's
    key-value store under the output, made by the first driver. A driver started again on
    the same cluster (after it crashed, or after a task failed) carries the run on by
    itself; the named actor below keeps two live drivers of one cluster apart, and the
    output's lock keeps out the runs of other clusters (another Ray cluster, a restarted
    one, a Slurm or Kubernetes run)."""
    key = "cluster_run:" + hashlib.sha256(output.encode()).hexdigest()
    SUBMITTED.add("taojin cluster run")
    return ray.get(_cluster_run_task().options(name="taojin cluster run", max_retries=3)
                   .remote(key, "ray-" + uuid.uuid4().hex[:12]))


def _run_job(job_w, taojin, max_retries, cluster_run):
    run, OutputLock = _remote_parts()
    SUBMITTED.add("taojin plan")
    planned = ray.get(run.options(name="taojin plan", num_cpus=1, max_retries=3)
                      .remote([taojin, "plan", job_w, "--json"]))
    if planned["rc"] != 0:
        raise JobFailed(f"`taojin plan {job_w}` failed on {planned['host']}:\n"
                        + _tail(planned["stderr"]))
    try:
        plan = json.loads(planned["stdout"])
    except json.JSONDecodeError as e:
        raise JobFailed(f"`taojin plan {job_w} --json` printed no JSON ({e}); is {taojin} "
                        "a taojin with `plan --json`?") from None
    cfg = plan["ray"]
    output = plan["output"]
    if cluster_run is None:
        cluster_run = _default_cluster_run(output)
    holder = {"host": socket.gethostname(), "pid": os.getpid(), "since": time.strftime("%F %T"),
              "job": plan["job"]}
    try:
        # Held until this driver exits: a named actor that is not detached dies with it.
        lock = OutputLock.options(name=f"output:{output}", namespace=NAMESPACE).remote(holder)
    except ValueError:
        other = ray.get(ray.get_actor(f"output:{output}", namespace=NAMESPACE).who.remote())
        raise JobFailed(f"another taojin_ray driver is running on {output} (job {other['job']}, "
                        f"pid {other['pid']} on {other['host']} since {other['since']}); "
                        "wait for it to finish or stop it") from None
    cpus = int(cfg.get("cpus_per_task") or 1)
    memory = cfg.get("memory")
    retries = cfg.get("max_retries", 3) if max_retries is None else max_retries
    backoff = float(cfg.get("retry_backoff_s", 1.0))

    def argv_of(step):
        return lambda i, c: [taojin, "run", job_w, "--stage", step["name"], "--task", str(i),
                             "--tasks", str(step["tasks"]), "--threads", str(c),
                             "--cluster-run", cluster_run]

    steps, start = [], time.time()
    log.info("job %s: %d steps, output %s, cluster run %s", plan["job"], len(plan["steps"]),
             output, cluster_run)
    for k, step in enumerate(plan["steps"], 1):
        c = _node_cpus() if step["phase"] == "reduce" else cpus
        label = f"step {k}/{len(plan['steps'])} {step['name']}"
        steps.append(_Step(run, step, label, argv_of(step), c, memory, retries, backoff).run_all())
    del lock
    total = sum(s["tasks"] for s in steps)
    log.info("job %s: %d steps, %d tasks, %d retries in %.1f s", plan["job"], len(steps), total,
             sum(s["retries"] for s in steps), time.time() - start)
    return {"job": plan["job"], "output": output, "cluster_run": cluster_run,
            "seconds": round(time.time() - start, 3), "steps": steps}


def main(argv=None):
    """The command line; returns the exit status."""
    ap = argparse.ArgumentParser(prog="python -m taojin_ray", description=__doc__)
    ap.add_argument("job", help="the job file (TOML)")
    ap.add_argument("--taojin", default=os.environ.get("TAOJIN_BIN", "taojin"),
                    help="the taojin binary as workers run it (default: $TAOJIN_BIN, else taojin on PATH)")
    ap.add_argument("--address", help="the Ray cluster (default: $RAY_ADDRESS, else [ray] address, else auto)")
    ap.add_argument("--max-retries", type=int, help="retries per task (default: [ray] max_retries, else 3)")
    ap.add_argument("--summary", help="write the per-step summary (tasks, retries, seconds) here as JSON")
    ap.add_argument("--timeline", help="write Ray's trace of the tasks here (Chrome trace JSON: "
                    "chrome://tracing or Perfetto), with their dashboard names")
    ap.add_argument("--cluster-run", help="run as this cluster run (the id is logged at the start, and "
                    "a refusal names the run holding the output); default: one per Ray cluster "
                    "and output, so a driver started again carries its run on")
    ap.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s taojin_ray %(message)s", datefmt="%H:%M:%S")
    try:
        summary = run_job(args.job, args.taojin, args.address, args.max_retries, args.timeline,
                          args.cluster_run)
    except JobFailed as e:
        print(f"taojin_ray: {e}", file=sys.stderr)
        return IN_USE if e.in_use else 1
    if args.summary:
        with open(args.summary, "w") as f:
            json.dump(summary, f, indent=2)
    funnel = summary["steps"][-1]["stdout"] if summary["steps"] else []
    sys.stdout.write("".join(funnel))
    return 0
