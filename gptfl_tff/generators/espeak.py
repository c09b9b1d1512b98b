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
"""espeak-ng text-to-speech (offline formant synthesis, Debian `espeak-ng`).

Voices are `{accent}+{variant}`; speed `-s` (words per minute), pitch `-p`
(0-99), amplitude `-a` (kept <= 90: about 15 variants clip at the default).
Variants whose data is not installed (e.g. MBROLA `mb-*` voices) are
reported by `check` so callers can skip them; espeak-ng itself would
silently fall back to its default voice.
"""

import functools
import os
import re
import shutil
import subprocess
import tempfile

import numpy as np

from gptfl_tff import audio

NAME = 'espeak-ng'
DEBIAN_PACKAGE = 'espeak-ng'
MAX_AMPLITUDE = 90


def is_available() -> bool:
  return shutil.which('espeak-ng') is not None


@functools.lru_cache(maxsize=None)
def version() -> str:
  out = subprocess.run(['espeak-ng', '--version'], capture_output=True,
                       text=True, check=True).stdout
  match = re.search(r'text-to-speech:\s*(\S+)', out)
  return match[1] if match else out.strip()


@functools.lru_cache(maxsize=None)
def _listed(kind: str) -> frozenset[str]:
  out = subprocess.run(['espeak-ng', f'--voices={kind}'], capture_output=True,
                       text=True, check=True).stdout.splitlines()[1:]
  names = set()
  for line in out:
    fields = line.split()
    if len(fields) >= 5:
      names.add(fields[1])                      # language, e.g. en-gb
      names.add(os.path.basename(fields[4]))    # file, e.g. klatt5
  return frozenset(names)


def check(params: dict) -> None:
  """Raises ValueError if the voice or variant is not installed."""
  if params['voice'] not in _listed('en'):
    raise ValueError(f"espeak-ng voice {params['voice']!r} is not installed.")
  if params['variant'] not in _listed('variant'):
    raise ValueError(
        f"espeak-ng variant {params['variant']!r} is not installed.")
  if params.get('amplitude', 0) > MAX_AMPLITUDE:
    raise ValueError(f'amplitude above {MAX_AMPLITUDE} clips.')


def synthesize(text: str, params: dict) -> tuple[np.ndarray, int]:
  """Speaks `text`; returns float32 samples and their rate (22,050 Hz)."""
  with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, 'out.wav')
    subprocess.run(
        ['espeak-ng', '-v', f"{params['voice']}+{params['variant']}",
         '-s', str(params['wpm']), '-p', str(params['pitch']),
         '-a', str(params.get('amplitude', MAX_AMPLITUDE)), '-w', path, text],
        check=True, capture_output=True)
    with open(path, 'rb') as f:
      return audio.decode_wav(f.read(), f'espeak-ng:{text}')
