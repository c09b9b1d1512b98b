#!/usr/bin/env bash
# Sets up the environment and runs the main job on small defaults:
# federated fine-tuning (FedAvg under secure aggregation) of the keyword
# model on spoken digits. Data: $GPTFL_DATA_DIR, else the development copy
# at ../shared/data/fsdd-5speakers.zip. Extra flags are passed through.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
data=${GPTFL_DATA_DIR:-../shared/data/fsdd-5speakers.zip}
exec .venv/bin/python -m experiments.federated_main \
  --data_dir="$data" --rounds=5 --client_epochs=2 \
  --root_output_dir="${GPTFL_OUTPUT_DIR:-/tmp/gptfl_tff}" \
  --experiment_name=quickstart "$@"
