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
"""SVOX Pico text-to-speech (offline; PyPI `ttspico`, Apache-2.0).

Voices en-US and en-GB, and de-DE, es-ES, fr-FR and it-IT speaking English
(accented English). Output is 16-bit mono PCM at 16 kHz. Speaking rate is
`rate = 100 * wpm / 160` percent and pitch `50 + pitch` percent.
"""

import functools
import importlib.metadata
import importlib.util

import numpy as np

NAME = 'pico'
DEBIAN_PACKAGE = 'none; PyPI ttspico (in requirements.lock)'
VOICES = ('en-US', 'en-GB', 'de-DE', 'es-ES', 'fr-FR', 'it-IT')
SAMPLE_RATE = 16000


def is_available() -> bool:
  return importlib.util.find_spec('ttspico') is not None


@functools.lru_cache(maxsize=None)
def version() -> str:
  return importlib.metadata.version('ttspico')


def check(params: dict) -> None:
  """Raises ValueError if the voice is not one of Pico's."""
  if params['voice'] not in VOICES:
    raise ValueError(
        f"Pico voice {params['voice']!r} is not one of {list(VOICES)}.")


def synthesize(text: str, params: dict) -> tuple[np.ndarray, int]:
  """Speaks `text`; returns float32 samples and their rate (16 kHz)."""
  import ttspico  # pylint: disable=g-import-not-at-top
  # A fresh engine per text (3 ms): an engine's second utterance differs
  # from its first, so a reused engine would make clips depend on order.
  engine = ttspico.TtsEngine(params['voice'])
  engine.rate = int(round(100 * params['wpm'] / 160))
  engine.pitch = 50 + int(params['pitch'])
  pcm = engine.speak(text)
  if not pcm:
    raise ValueError(f'Pico produced no audio for {text!r}.')
  return (np.frombuffer(pcm, np.int16).astype(np.float32) / 32768.0,
          SAMPLE_RATE)
