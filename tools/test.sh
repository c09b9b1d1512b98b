#!/usr/bin/env bash
# Sets up the environment, then runs the whole test suite (pytest) and a
# representative part of it through Bazel, and checks that no TFF
# worker_binary is left running.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh

workers_before=$(pgrep -x worker_binary || true)

# BUILD files are generated from the imports; they must be up to date.
.venv/bin/python tools/build_gen.py --check

set +e
# Two worker processes (pytest-xdist), a test class per worker at a time:
# most tests are single-threaded Python (tracing, TFF compilation), so two
# share the two cores well.
.venv/bin/python -m pytest -q -n 2 --dist loadscope tests "$@"
status=$?
set -e
if [[ $status -ne 0 ]]; then
  exit $status
fi

echo "== Bazel: representative tests and every binary"
bazel test //tests:partition_test //tests/prompting:prompts_test \
  //tests/synthesis:synthetic_records_test //tests/tasks:fsdd_test \
  //tests:runtime_test
bazel build //experiments/... //generation/...

# A leaked worker is one whose Python parent is gone: it was reparented to
# init (or a subreaper). Workers of Python processes that are still running
# (another job on this machine) are not leaks.
sleep 1
leaked=()
for pid in $(pgrep -x worker_binary || true); do
  grep -qx "$pid" <<<"$workers_before" && continue
  ppid=$(ps -o ppid= -p "$pid" | tr -d ' ')
  parent=$(ps -o args= -p "$ppid" 2>/dev/null || true)
  if [[ -z $ppid || $ppid == 1 || $parent != *python* ]]; then
    leaked+=("$pid")
  fi
done
if ((${#leaked[@]})); then
  echo "TFF worker_binary processes left running: ${leaked[*]}" >&2
  ps -o pid,ppid,etime,cmd -p "${leaked[@]}" >&2 || true
  exit 1
fi
echo "No TFF worker_binary left running."
