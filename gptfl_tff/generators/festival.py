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
"""festival text-to-speech (offline; Debian `festival` and its voices).

Voices: kal_diphone and ked_diphone (16 kHz diphone voices; ked is a
speaker no other engine has) and cmu_us_slt_arctic_hts (32 kHz HMM voice),
from the Debian packages festvox-kallpc16k, festvox-kdlpc16k and
festvox-us-slt-hts. The diphone voices take speaking rate as
`Duration_Stretch = 160 / wpm` and pitch as a target f0 mean of `80 + pitch`
Hz (their linear-regression intonation model); the HTS voice (which ignores
both) takes hts_engine's speed `-r wpm / 160` and shift `-fm (pitch - 50) /
10` half-tones.

A shard is spoken by one `festival -b` process reading a generated Scheme
script (hundreds of words/s), not one process per word.
"""

import functools
import os
import re
import shutil
import subprocess
import tempfile
from typing import Sequence

import numpy as np

from gptfl_tff import audio

NAME = 'festival'
DEBIAN_PACKAGE = ('festival festvox-kallpc16k festvox-kdlpc16k '
                  'festvox-us-slt-hts')
# Pronunciation comes from these (the voice packages depend on them).
_LEXICON_PACKAGES = ('festlex-cmu', 'festlex-poslex')
_VOICE_DIRS = ('/usr/share/festival/voices', '/usr/local/share/festival/voices')


def is_available() -> bool:
  return shutil.which('festival') is not None


@functools.lru_cache(maxsize=None)
def version() -> str:
  """festival's version and, where dpkg knows them, its packages'.

  The voices and lexicons are separate packages: a new one changes the
  clips with the engine unchanged, so stage fingerprints need them all.
  """
  out = subprocess.run(['festival', '--version'], capture_output=True,
                       text=True, check=False).stdout
  match = re.search(r'System:\s*(\S+)', out)
  engine = match[1] if match else out.strip()
  if shutil.which('dpkg-query') is None:
    return engine
  voices_run = subprocess.run(
      ['dpkg-query', '-W', '-f=${db:Status-Abbrev} ${Package} ${Version}\n',
       *DEBIAN_PACKAGE.split(), *_LEXICON_PACKAGES],
      capture_output=True, text=True, check=False)
  # dpkg-query exits 1 when a package is unknown; the others are still
  # printed. Only installed ones ('ii') count.
  installed = sorted(' '.join(line.split()[1:])
                     for line in voices_run.stdout.splitlines()
                     if line.startswith('ii ') and len(line.split()) == 3)
  return ', '.join([engine, *installed])


@functools.lru_cache(maxsize=None)
def voices() -> frozenset[str]:
  """Installed voices (folders `voices/<language>/<voice>`)."""
  found = set()
  for root in _VOICE_DIRS:
    if os.path.isdir(root):
      for language in os.listdir(root):
        path = os.path.join(root, language)
        if os.path.isdir(path):
          found.update(os.listdir(path))
  return frozenset(found)


def check(params: dict) -> None:
  """Raises ValueError if the voice is not installed."""
  if params['voice'] not in voices():
    raise ValueError(
        f"festival voice {params['voice']!r} is not installed (Debian "
        f'packages: {DEBIAN_PACKAGE}).')


def _quote(text: str) -> str:
  return '"' + text.replace('\\', '\\\\').replace('"', '\\"') + '"'


def _script_line(text: str, params: dict, path: str, switch: bool) -> str:
  voice = params['voice']
  lines = [f'(voice_{voice})'] if switch else []
  if voice.endswith('_hts'):  # hts_engine: -r speed, -fm half-tones.
    lines.append(
        f'(set! hts_engine_params (append {voice}::hts_engine_params '
        f'(list (list "-r" {params["wpm"] / 160.0:.4f}) '
        f'(list "-fm" {(params["pitch"] - 50) / 10.0:.2f}))))')
  else:
    lines.append(
        f"(Parameter.set 'Duration_Stretch {160.0 / params['wpm']:.4f})")
  if voice.endswith('_diphone'):
    lines.append(
        f"(set! int_lr_params '((target_f0_mean {80 + params['pitch']}) "
        '(target_f0_std 14) (model_f0_mean 170) (model_f0_std 34)))')
  lines.append(f'(utt.save.wave (utt.synth (Utterance Text {_quote(text)})) '
               f"{_quote(path)} 'riff)")
  return '\n'.join(lines)


def synthesize_batch(
    texts: Sequence[str], params: Sequence[dict]
) -> list[tuple[np.ndarray, int]]:
  """Speaks every text in one festival process.

  Args:
    texts: What to say.
    params: Each text's voice parameters (voice, wpm, pitch).

  Returns:
    Float32 samples and their rate, per text.

  Raises:
    RuntimeError: If festival fails or writes no audio for a text.
  """
  with tempfile.TemporaryDirectory() as tmp:
    paths = [os.path.join(tmp, f'{k:06d}.wav') for k in range(len(texts))]
    script = os.path.join(tmp, 'batch.scm')
    with open(script, 'w') as f:
      voice = None  # A voice is loaded only when it changes.
      for text, p, path in zip(texts, params, paths):
        f.write(_script_line(text, p, path, p['voice'] != voice) + '\n')
        voice = p['voice']
    run = subprocess.run(['festival', '-b', script], capture_output=True,
                         text=True, check=False)
    out = []
    for text, path in zip(texts, paths):
      if not os.path.exists(path):
        raise RuntimeError(
            f'festival wrote no audio for {text!r} (exit {run.returncode}): '
            f'{run.stderr.strip()[-300:]}')
      with open(path, 'rb') as f:
        out.append(audio.decode_wav(f.read(), f'festival:{text}'))
    return out


def synthesize(text: str, params: dict) -> tuple[np.ndarray, int]:
  """Speaks `text`; returns float32 samples and their rate."""
  return synthesize_batch([text], [params])[0]
