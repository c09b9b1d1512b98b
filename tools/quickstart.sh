#!/usr/bin/env bash
# Sets up the environment and runs the main job on small defaults: the
# GPT-FL pipeline on spoken digits (label discovery, prompts, offline TTS
# generation, pretraining, federated fine-tuning under secure aggregation,
# evaluation) in its --quickstart configuration. Data: $GPTFL_DATA_DIR, else
# the development copy ../shared/data/fsdd-5speakers.zip. Extra flags are
# passed through.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
data=${GPTFL_DATA_DIR:-../shared/data/fsdd-5speakers.zip}
exec .venv/bin/python -m experiments.gptfl_main --quickstart \
  --data_dir="$data" \
  --root_output_dir="${GPTFL_OUTPUT_DIR:-/tmp/gptfl_tff}" \
  --experiment_name=quickstart "$@"
