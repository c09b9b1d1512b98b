#!/usr/bin/env bash
# Sets up the environment, then runs the whole test suite (pytest) and a
# representative part of it through Bazel, and checks that no TFF
# worker_binary is left running.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh

workers_before=$(pgrep -f 'tensorflow_federated/data/worker_binary' || true)

set +e
.venv/bin/python -m pytest -q tests "$@"
status=$?
set -e
if [[ $status -ne 0 ]]; then
  exit $status
fi

echo "== Bazel: representative tests and every binary"
bazel test //tests:partition_test //tests:prompts_test \
  //tests:synthetic_records_test //tests/tasks:fsdd_test //tests:runtime_test
bazel build //experiments/... //generation/...

sleep 1
left=$(comm -13 <(echo "$workers_before" | sort) \
  <(pgrep -f 'tensorflow_federated/data/worker_binary' | sort) || true)
if [[ -n $left ]]; then
  echo "TFF worker_binary processes left running: $left" >&2
  ps -o pid,ppid,etime,cmd -p $left >&2 || true
  exit 1
fi
echo "No TFF worker_binary left running."
