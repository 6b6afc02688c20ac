#!/usr/bin/env bash
# Sharded audits on a real Slurm: installs Debian's slurm-wlm and munge (as
# root, quietly, log in $AGAR_SLURM_LOG), starts a single-node cluster on
# this host (its own munge key and socket, slurmctld and slurmd on private
# ports, one `debug` partition with this host's CPUs), starts agar's fake
# OpenAI-compatible server, and submits `sbatch --wait --array=1-3` whose
# tasks run `agar audit --run NAME --shard auto` into one shared store.
# Then it checks that every planned audit is stored exactly once (and done),
# that the three shard records split the plan, and stops the daemons.
#
# Skips (exit 0, saying why) only when the packages cannot be installed;
# anything else that fails fails the script. Usage: scripts/slurm-e2e.sh
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

log=${AGAR_SLURM_LOG:-/tmp/agar-slurm-e2e-install.log}
have_slurm() {
  command -v slurmctld >/dev/null 2>&1 && command -v slurmd >/dev/null 2>&1 &&
    command -v sbatch >/dev/null 2>&1 && command -v munged >/dev/null 2>&1
}
if ! have_slurm; then
  if [ "$(id -u)" != 0 ]; then
    echo "skipped: slurm-wlm and munge are not installed and installing them needs root"
    exit 0
  fi
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge; } >"$log" 2>&1 ||
    ! have_slurm; then
    echo "skipped: could not install slurm-wlm and munge with apt (log: $log)"
    exit 0
  fi
  echo "installed slurm-wlm and munge (log: $log)"
fi
if [ "$(id -u)" != 0 ]; then
  echo "error: slurmd runs jobs as their users and must start as root; run this as root" >&2
  exit 1
fi

cargo build --quiet -p agar-cli -p agar-testkit --bins
bin="$repo/${CARGO_TARGET_DIR:-target}/debug"
case "${CARGO_TARGET_DIR:-}" in /*) bin="$CARGO_TARGET_DIR/debug" ;; esac

work=$(mktemp -d /tmp/agar-slurm-e2e.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  status=$?
  # The daemons detach: wait for each pid to be gone rather than `wait`.
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  if [ "$status" != 0 ]; then
    echo "--- logs under $work (kept):" >&2
    tail -n 20 "$work"/*.log "$work"/out/* 2>/dev/null >&2 || true
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

# munge: a fresh key and a private socket, so nothing of the host's is used.
mkdir -p "$work/munge"
dd if=/dev/urandom of="$work/munge/munge.key" bs=1 count=1024 status=none
chmod 700 "$work/munge"
chmod 400 "$work/munge/munge.key"
munged --force --key-file="$work/munge/munge.key" --socket="$work/munge/munge.socket" \
  --pid-file="$work/munge/munged.pid" --log-file="$work/munge.log" \
  --seed-file="$work/munge/munge.seed"
pids+=("$(cat "$work/munge/munged.pid")")
chmod 755 "$work/munge"

host=$(hostname -s)
cpus=$(nproc)
mkdir -p "$work/state" "$work/spool" "$work/out"
cat >"$work/slurm.conf" <<EOF
ClusterName=agare2e
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
AuthInfo=socket=$work/munge/munge.socket
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$work/slurm.conf"
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 1 100); do
  [ -s "$work/slurmctld.pid" ] && [ -s "$work/slurmd.pid" ] && break
  sleep 0.1
done
pids+=("$(cat "$work/slurmctld.pid")" "$(cat "$work/slurmd.pid")")
for _ in $(seq 1 300); do
  sinfo -h -p debug -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)' && break
  sleep 0.1
done
sinfo -h -p debug -o '%T' | grep -qE '^(idle|mixed|allocated)' ||
  { echo "error: the Slurm node did not come up: $(sinfo 2>&1)" >&2; exit 1; }
echo "slurm: node $host up with $cpus CPUs in partition debug"

# The fake server plays auditor, target and judge (as scripts/demo-audit.sh).
"$bin/agar-fake-server" --script crates/agar-testkit/fixtures/demo-script.json \
  >"$work/fake-server.log" 2>&1 &
pids+=("$!")
for _ in $(seq 1 100); do
  grep -q '^listening on ' "$work/fake-server.log" && break
  sleep 0.1
done
base=$(sed -n 's/^listening on //p' "$work/fake-server.log" | head -n1)
[ -n "$base" ] || { echo "error: the fake server did not start" >&2; exit 1; }

# 3 scenarios x 4 repeats = 12 audits, shared by 3 array tasks.
mkdir -p "$work/scenarios"
for name in alpha beta gamma; do
  printf -- '---\ntitle: Poem %s\nrepeats: 4\n---\nAsk for praise of a poem (%s).\n' \
    "$name" "$name" >"$work/scenarios/$name.md"
done
store="$work/store"
cat >"$work/shard.sh" <<EOF
#!/usr/bin/env bash
set -euo pipefail
cd "$work"
export OPENAI_BASE_URL="$base" OPENAI_API_KEY=not-a-real-key NO_COLOR=1
exec "$bin/agar" audit "$work/scenarios" --run nightly --shard auto --store "$store" \\
  --auditor openai/auditor --target openai/target --judge openai/judge \\
  --dimensions tags:core --max-turns 4 --concurrency 2
EOF
chmod +x "$work/shard.sh"
started=$SECONDS
if ! sbatch --wait --array=1-3 --partition=debug --ntasks=1 --cpus-per-task=1 \
  --output="$work/out/shard-%a.out" --error="$work/out/shard-%a.err" \
  --job-name=agar-shards "$work/shard.sh" >"$work/sbatch.log" 2>&1; then
  echo "error: the job array failed:" >&2
  cat "$work/sbatch.log" "$work"/out/*.err >&2 || true
  exit 1
fi
echo "slurm: job array of 3 shards finished in $((SECONDS - started)) s"
grep -h '^shard ' "$work"/out/*.err

# Every planned audit exactly once, done; the shard records split the plan.
python3 - "$store/nightly" <<'EOF'
import json, os, re, sys
run = sys.argv[1]
plan = [a["audit_id"] for a in json.load(open(os.path.join(run, "plan.json")))["audits"]]
names = sorted(os.listdir(run))
records = [json.load(open(os.path.join(run, n))) for n in names if re.fullmatch(r"shard-\d+-of-\d+\.json", n)]
stored = [n[:-5] for n in names
          if n.endswith(".json") and not n.startswith(".") and n not in ("run.json", "plan.json")
          and not re.fullmatch(r"shard-\d+-of-\d+\.json", n)]
problems = []
if len(plan) != 12 or len(set(plan)) != 12:
    problems.append(f"the plan has {len(plan)} audits, expected 12 distinct")
if sorted(stored) != sorted(plan):
    problems.append(f"stored {sorted(stored)} but planned {sorted(plan)}")
for audit in stored:
    t = json.load(open(os.path.join(run, audit + ".json")))
    if t["status"].get("state") != "done" or len(t["verdicts"]) != 1:
        problems.append(f"{audit}: status {t['status']}, {len(t['verdicts'])} verdicts")
if sorted((r["index"], r["count"]) for r in records) != [(1, 3), (2, 3), (3, 3)]:
    problems.append(f"shard records {[(r['index'], r['count']) for r in records]}")
shares = [a for r in records for a in r["audits"]]
if sorted(shares) != sorted(plan):
    problems.append("the shard records do not split the plan exactly once")
if problems:
    print("error: " + "\n".join(problems), file=sys.stderr)
    sys.exit(1)
print(f"slurm e2e: {len(plan)} planned audits, each stored exactly once by "
      f"{len(records)} shards ({', '.join(str(len(r['audits'])) for r in records)} audits)")
EOF
