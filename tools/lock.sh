#!/usr/bin/env bash
# Regenerates requirements.lock from requirements.in (+ overrides.txt, which
# replaces TFF's unsatisfiable jax/jaxlib 0.4.14 pins). Needs .venv (uv).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/uv pip compile requirements.in --override overrides.txt \
  --python-version 3.11 --find-links /opt/wheels \
  --index-strategy unsafe-best-match -o requirements.lock
