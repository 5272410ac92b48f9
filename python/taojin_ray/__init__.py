"""Run a taojin job on a Ray cluster: `python -m taojin_ray JOB [--taojin PATH]`.

Ray schedules, taojin works. For each step of `taojin plan JOB --json`, in order, the
launcher submits one Ray task per step task; each task runs
`taojin run JOB --stage STEP --task I --tasks N --threads C --cluster-run ID` in a
subprocess on whichever
node Ray picks. A step starts only when every task of the previous one finished. A task
whose process exits non-zero, or whose Ray worker dies, is submitted again after an
exponential backoff, at most `max_retries` times; after that the job stops with the
task's stderr tail. The reduce step of a global stage asks for a whole node.

taojin's steps are idempotent and resumable (done markers, atomic renames), so a retried
or repeated task writes the same bytes, and a rerun of the launcher skips finished
tasks. One launcher per job output at a time: a second one on the same output is
refused while the first runs (a named Ray actor, which dies with its driver). The run's
id (`--cluster-run`, by default one per Ray cluster and output) is in the output's lock,
so a run of another cluster (another Ray cluster, Slurm) is refused until this one's
finalize, and a launcher started again on the same cluster carries its run on.

Settings come from the job's `[ray]` table (see `RaySpec` in the job schema):
`address`, `cpus_per_task`, `memory`, `max_retries`, `retry_backoff_s`, `runtime_env`.
"""

from .driver import JobFailed, main, run_job

__all__ = ["JobFailed", "main", "run_job"]
