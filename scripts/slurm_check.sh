#!/usr/bin/env bash
# Runs a small job through real Slurm on this machine: installs slurm-wlm (Debian) when
# missing, starts slurmctld + slurmd on loopback with auth/none from a temporary state
# folder, submits the scripts `taojin slurm` writes, waits, and compares every output
# file with a local run of the same job byte for byte.
# Usage: scripts/slurm_check.sh TAOJIN_BIN. Skips (exit 0) where Slurm cannot run here
# (not root, no apt-get); SLURM_CHECK=require makes that a failure, SLURM_CHECK=skip skips.
set -euo pipefail
bin=$(realpath "$1")
mode=${SLURM_CHECK:-auto}
skip() { echo "slurm check skipped: $*"; [[ $mode == require ]] && exit 1; exit 0; }
[[ $mode == skip ]] && skip "SLURM_CHECK=skip"
if ! command -v slurmctld >/dev/null; then
  [[ $(id -u) == 0 ]] || skip "not root, cannot install slurm-wlm"
  command -v apt-get >/dev/null || skip "no apt-get to install slurm-wlm"
  echo "installing slurm-wlm (Debian package, once)..."
  (apt-get install -y -qq --no-install-recommends --no-upgrade slurm-wlm >/dev/null 2>&1 ||
    (apt-get update -qq && apt-get install -y -qq --no-install-recommends --no-upgrade slurm-wlm >/dev/null)) ||
    skip "apt-get could not install slurm-wlm"
fi
[[ $(id -u) == 0 ]] || skip "slurmd needs root here"

work=$(mktemp -d /tmp/taojin-slurm-XXXXXX)
host=$(hostname -s)
mkdir -p "$work/ctld" "$work/d" "$work/log"
export SLURM_CONF=$work/slurm.conf
cat > "$SLURM_CONF" <<CONF
ClusterName=taojin
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/none
CredType=cred/none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
StateSaveLocation=$work/ctld
SlurmdSpoolDir=$work/d
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
NodeName=$host CPUs=$(nproc) RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
pids=()
stop() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do while kill -0 "$p" 2>/dev/null; do sleep 0.2; done; done
  pids=()
}
trap stop EXIT
if pgrep -r R,S,D -x slurmctld >/dev/null || pgrep -r R,S,D -x slurmd >/dev/null; then
  skip "another slurmctld/slurmd is already running on this machine"
fi
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 50); do [[ -s $work/slurmctld.pid && -s $work/slurmd.pid ]] && break; sleep 0.1; done
pids=("$(cat "$work/slurmctld.pid")" "$(cat "$work/slurmd.pid")")
for _ in $(seq 60); do sinfo -h -o %t 2>/dev/null | grep -q idle && break; sleep 1; done
sinfo -h -o %t | grep -q idle || { cat "$work/log/"*.log; echo "slurm did not come up"; exit 1; }

cd "$work"
"$bin" demo-data data >/dev/null
cat > job.toml <<JOB
[job]
name = "slurmcheck"
output = "out"

[[inputs]]
name = "web-en"
path = "data/web-en-*.jsonl.zst"

[[inputs]]
name = "web-zh"
path = "data/web-zh-*.jsonl.zst"

[[stages]]
kind = "normalize"

[[stages]]
kind = "exact_dedup"

[[stages]]
kind = "minhash_dedup"

[[stages]]
kind = "mix"

[[stages.sources]]
name = "en"
where = "source = 'web-en'"
weight = 0.5

[[stages.sources]]
name = "zh"
where = "source = 'web-zh'"
weight = 0.5

[[stages]]
kind = "tokenize"
tokenizer = "tok.json"
train_vocab = 800
seq_len = 128

[slurm]
partition = "debug"
cpus_per_task = 1
mem = "500M"
time = "00:10:00"
JOB
"$bin" slurm job.toml --out sbatch
start=$(date +%s)
bash sbatch/submit.sh
while [[ -n $(squeue -h) ]]; do
  if squeue -h -o %r | grep -q DependencyNeverSatisfied; then
    tail -n 20 sbatch/logs/*; echo "a Slurm step failed"; exit 1
  fi
  (( $(date +%s) - start < 600 )) || { squeue; echo "timed out"; exit 1; }
  sleep 1
done
[[ -f out/stats.json ]] || { tail -n 20 sbatch/logs/*; echo "finalize did not run"; exit 1; }
secs=$(( $(date +%s) - start ))
sed 's/output = "out"/output = "local"/' job.toml > local.toml
"$bin" run local.toml >/dev/null 2>&1
n=0
while IFS= read -r f; do
  cmp -s "out/$f" "local/$f" || { echo "differs from the local run: $f"; exit 1; }
  n=$((n + 1))
done < <(cd out && find . \( -name '*.parquet' -o -name '*.arrow' -o -name manifest.json \) | sort)
jobs=$(ls sbatch/*.sbatch | wc -l)
echo "slurm check ok: $jobs sbatch jobs ($(ls sbatch/logs | wc -l) task logs) in ${secs}s on a real slurmctld+slurmd; $n output files identical to the local run"
stop
rm -rf "$work"
