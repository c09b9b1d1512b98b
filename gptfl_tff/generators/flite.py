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
"""flite text-to-speech (offline diphone/clustergen, Debian `flite`).

Voices kal (8 kHz), kal16, rms, awb, slt (16 kHz). Speaking rate is set with
`duration_stretch = 160 / wpm` and pitch with `int_f0_target_mean = 80 +
pitch` Hz. In the FSDD calibration (../shared/environment.md) flite's voices
transferred to real speakers far better than most espeak-ng variants.
"""

import functools
import os
import re
import shutil
import subprocess
import tempfile

import numpy as np

from gptfl_tff import audio

NAME = 'flite'
DEBIAN_PACKAGE = 'flite'


def is_available() -> bool:
  return shutil.which('flite') is not None


@functools.lru_cache(maxsize=None)
def version() -> str:
  out = subprocess.run(['flite', '--version'], capture_output=True,
                       text=True, check=False).stdout
  match = re.search(r'version:\s*(\S+)', out)
  return match[1] if match else out.strip()


@functools.lru_cache(maxsize=None)
def voices() -> frozenset[str]:
  out = subprocess.run(['flite', '-lv'], capture_output=True, text=True,
                       check=True).stdout
  return frozenset(out.split(':', 1)[-1].split())


def check(params: dict) -> None:
  """Raises ValueError if the voice is not built into this flite."""
  if params['voice'] not in voices():
    raise ValueError(f"flite voice {params['voice']!r} is not available.")


def synthesize(text: str, params: dict) -> tuple[np.ndarray, int]:
  """Speaks `text`; returns float32 samples and their rate."""
  with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, 'out.wav')
    subprocess.run(
        ['flite', '-voice', params['voice'],
         '--setf', f"duration_stretch={160.0 / params['wpm']:.4f}",
         '--setf', f"int_f0_target_mean={80 + params['pitch']}",
         '-t', text, '-o', path],
        check=True, capture_output=True)
    with open(path, 'rb') as f:
      return audio.decode_wav(f.read(), f'flite:{text}')
