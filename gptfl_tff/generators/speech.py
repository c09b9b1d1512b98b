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

Engine output is silence-trimmed (below -80 dB at both ends), resampled to
the task rate with the project's audio front end, dithered with +-1 LSB triangular noise seeded by the prompt (so that logs of
silent frames stay finite and every record is reproducible), and stored as
16-bit PCM. With the ASR filter on, a clip is kept only if pocketsphinx,
choosing among the task's words, hears its own label
(`synthesis.speech_filter`); the shard sidecars and the manifest count what
was kept and dropped per engine and voice.
"""

import collections
import dataclasses
from typing import Optional, Sequence

from absl import logging
import numpy as np

from gptfl_tff import audio
from gptfl_tff import errors
from gptfl_tff.generators import espeak
from gptfl_tff.generators import festival
from gptfl_tff.generators import flite
from gptfl_tff.generators import pico
from gptfl_tff.generators import piper
from gptfl_tff.generators import speecht5
from gptfl_tff.prompting import prompts as prompts_lib
from gptfl_tff.synthesis import speech_filter
from gptfl_tff.synthesis import synthetic_records

# Each speech engine module exposes `NAME`, `DEBIAN_PACKAGE`,
# `is_available()`, `version()`, `check(params)` and `synthesize(text,
# params) -> (samples, sample_rate)`; an engine that speaks a batch in one
# process also has `synthesize_batch(texts, params)`.
SPEECH_ENGINES = {
    m.NAME: m for m in (espeak, flite, festival, pico, piper, speecht5)}


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


def _postprocess(prompt, samples, rate, engine, sample_rate):
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


def make_records(
    prompts: Sequence[prompts_lib.Prompt],
    sample_rate: int,
    filter_words: Optional[Sequence[str]] = None,
) -> list[synthetic_records.SyntheticRecord]:
  """Synthesises speech prompts, each engine's batch at once.

  Args:
    prompts: Speech prompts.
    sample_rate: The task's audio rate.
    filter_words: The ASR filter's vocabulary (the task's words); None
      keeps every clip.

  Returns:
    The records of the kept prompts, in prompt order.

  Raises:
    EngineError: If an engine is missing.
    ValueError: If a prompt's voice is not installed.
  """
  by_engine = collections.defaultdict(list)
  for k, prompt in enumerate(prompts):
    by_engine[prompt.params['engine']].append(k)
  clips = [None] * len(prompts)
  for name, ks in by_engine.items():
    engine = speech_engine(name)
    for k in ks:
      engine.check(prompts[k].params)
    texts = [prompts[k].text for k in ks]
    params = [prompts[k].params for k in ks]
    if hasattr(engine, 'synthesize_batch'):
      made = engine.synthesize_batch(texts, params)
    else:
      made = [engine.synthesize(t, p) for t, p in zip(texts, params)]
    for k, clip in zip(ks, made):
      clips[k] = clip
  # A fresh recognizer per call (a shard): see `speech_filter`.
  words = (speech_filter.WordRecognizer(filter_words) if filter_words
           else None)
  records = []
  for prompt, (samples, rate) in zip(prompts, clips):
    if words and words.recognize(samples, rate) != prompt.text.lower():
      continue
    records.append(_postprocess(prompt, samples, rate,
                                SPEECH_ENGINES[prompt.params['engine']],
                                sample_rate))
  return records


def make_record(
    prompt: prompts_lib.Prompt, sample_rate: int
) -> synthetic_records.SyntheticRecord:
  """Synthesises one speech prompt (no filter).

  Raises:
    EngineError: If the engine is missing.
    ValueError: If the prompt's voice is not installed.
  """
  return make_records([prompt], sample_rate)[0]


def _installed(group: prompts_lib.VoiceGroup,
               options: dict) -> prompts_lib.VoiceGroup:
  """The group's installed voices and variants (either may be empty)."""
  engine = SPEECH_ENGINES.get(group.engine)
  if engine is None or not engine.is_available():
    return dataclasses.replace(group, voices=())

  def ok(voice, variant):
    try:
      engine.check(dict(options, voice=voice, variant=variant))
      return True
    except ValueError:
      return False

  if group.variants:  # espeak-ng: an accent with any variant, and back.
    return dataclasses.replace(
        group,
        voices=tuple(v for v in group.voices
                     if any(ok(v, w) for w in group.variants)),
        variants=tuple(w for w in group.variants
                       if any(ok(v, w) for v in group.voices)))
  return dataclasses.replace(
      group, voices=tuple(v for v in group.voices if ok(v, None)))


def installed_voice_mix(mix: prompts_lib.VoiceMix) -> prompts_lib.VoiceMix:
  """Keeps the mix's installed voices; groups left empty lose their share.

  The remaining groups' shares are rescaled to sum to 1; the group
  definitions themselves are fixed (`prompts.VOICE_GROUPS`), so a machine
  missing one voice of a group draws the group's other voices.

  Raises:
    EngineError: If no group has an installed voice.
  """
  kept = []
  for name, share in mix.groups:
    group = _installed(prompts_lib.VOICE_GROUPS[name],
                       dict(mix.engine_options.get(
                           prompts_lib.VOICE_GROUPS[name].engine, {})))
    if group.voices and (group.variants or
                         not prompts_lib.VOICE_GROUPS[name].variants):
      kept.append((name, share, group))
  dropped = [name for name, _ in mix.groups
             if name not in [k for k, _, _ in kept]]
  if dropped and kept:
    logging.warning('Voice groups %s have no installed voice; their share '
                    'goes to %s (tools/setup.sh installs them).', dropped,
                    [k for k, _, _ in kept])
  if not kept:
    raise EngineError(
        f'No voice of --gen_voice_mix={mix} is installed; run '
        'tools/setup.sh.')
  total = sum(share for _, share, _ in kept)
  return dataclasses.replace(
      mix, groups=tuple((name, share / total) for name, share, _ in kept),
      installed={name: group for name, _, group in kept})
