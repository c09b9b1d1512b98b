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
"""Speech prompts -> synthetic audio records (any speech engine).

Engine output is silence-trimmed (both engines pad with exact-zero
silence), resampled to the task rate with the project's audio front end,
dithered with +-1 LSB triangular noise seeded by the prompt (so that logs of
silent frames stay finite and every record is reproducible), and stored as
16-bit PCM.
"""

import dataclasses

import numpy as np

from gptfl_tff import audio
from gptfl_tff import errors
from gptfl_tff.generators import espeak
from gptfl_tff.generators import flite
from gptfl_tff.prompting import prompts as prompts_lib
from gptfl_tff.synthesis import synthetic_records

# Each speech engine module exposes `NAME`, `is_available()`, `version()`,
# `check(params)` and `synthesize(text, params) -> (samples, sample_rate)`.
SPEECH_ENGINES = {espeak.NAME: espeak, flite.NAME: flite}


class EngineError(errors.UserError, RuntimeError):
  """An engine that is missing or failed; the message says what to do."""


def speech_engine(name: str):
  """Returns the module of a speech engine by name.

  Raises:
    EngineError: If the engine is unknown or not installed.
  """
  if name not in SPEECH_ENGINES:
    raise EngineError(
        f'Unknown speech engine {name!r}; known: {sorted(SPEECH_ENGINES)}.')
  module = SPEECH_ENGINES[name]
  if not module.is_available():
    raise EngineError(
        f'{name} is not installed; run tools/setup.sh (Debian package '
        f'{module.DEBIAN_PACKAGE}).')
  return module


def make_record(
    prompt: prompts_lib.Prompt, sample_rate: int
) -> synthetic_records.SyntheticRecord:
  """Synthesises one speech prompt.

  Raises:
    EngineError: If the engine is missing.
    ValueError: If the prompt's voice is not installed or it yields silence.
  """
  engine = speech_engine(prompt.params['engine'])
  engine.check(prompt.params)
  samples, rate = engine.synthesize(prompt.text, prompt.params)
  samples = audio.trim_silence(samples)
  samples = audio.resample(samples, rate, sample_rate)
  rng = np.random.default_rng(prompt.params.get('seed', 0))
  lsb = 1.0 / 32768.0
  n = len(samples)
  samples = samples + lsb * (rng.random(n) - rng.random(n))
  params = dict(prompt.params, engine_version=engine.version(),
                source_rate=rate, prompt_text=prompt.text)
  return synthetic_records.SyntheticRecord.from_audio(
      prompt.id, prompt.label_id, prompt.label, samples, sample_rate, params)


def installed_voice_mix(mix: prompts_lib.VoiceMix) -> prompts_lib.VoiceMix:
  """Drops voices and variants that are not installed on this machine.

  Raises:
    EngineError: If no voice at all is left.
  """
  flite_voices = ()
  if flite.is_available():
    flite_voices = tuple(
        v for v in mix.flite_voices if v in flite.voices())
  accents, variants = (), ()
  if espeak.is_available():
    accents = tuple(a for a in mix.espeak_accents if _espeak_ok(a, None))
    variants = tuple(v for v in mix.espeak_variants if _espeak_ok(None, v))
  share = mix.flite_share
  if not flite_voices:
    share = 0.0
  if not (accents and variants):
    share = 1.0 if flite_voices else share
  if not flite_voices and not (accents and variants):
    raise EngineError(
        'No speech engine voice is installed; run tools/setup.sh (Debian '
        'packages espeak-ng and flite).')
  return dataclasses.replace(
      mix, flite_share=share, flite_voices=flite_voices,
      espeak_accents=accents, espeak_variants=variants)


def _espeak_ok(accent, variant) -> bool:
  try:
    espeak.check({'voice': accent or 'en-us',
                             'variant': variant or 'klatt'})
    return True
  except ValueError:
    return False
