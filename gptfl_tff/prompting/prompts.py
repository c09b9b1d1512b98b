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
"""Prompts from discovered label names (GPT-FL, Sec. 3.2 "Prompt design").

GPT-FL turns each label name into a uniform number of diverse prompts per
label. Speech prompts are the word to speak plus a voice description
(engine, voice/accent, variant, speaking rate, pitch, amplitude) drawn from a
seeded sampler. Image prompts come from templates in the style of the
paper's code ("a photo of a {label}", across domains: photo, drawing,
painting, sketch, 3D rendering, ...); an `Expander` produces the texts, so a
large-language-model "fill in the blank" expander (`___ airplane ___` ->
"Large commercial airplane in the blue sky") can replace the templates
without changing callers.

Output is a JSONL file, one prompt per line: id, label_id, label, text, kind
and generation params. Every prompt set is a function of its inputs and seed.
"""

import dataclasses
import json
from typing import Any, Mapping, Optional, Protocol, Sequence

import numpy as np

from gptfl_tff import errors
from gptfl_tff import io_utils

# Speech: calibrated on FSDD (../shared/environment.md and docs/results.md
# section 12): flite's voices transfer to real speech far better than most
# espeak-ng variants; these espeak variants were the best, and speech faster
# than ~185 wpm hurt.
FLITE_VOICES = ('kal', 'kal16', 'rms', 'awb', 'slt')
ESPEAK_ACCENTS = ('en-us', 'en-gb', 'en-gb-x-rp', 'en-gb-scotland', 'en-029')
ESPEAK_VARIANTS = (
    'announcer', 'edward', 'klatt', 'klatt5', 'RicishayMax', 'robosoft6',
)
MAX_WPM = 185


@dataclasses.dataclass(frozen=True)
class VoiceGroup:
  """Voices of one engine that are drawn from together.

  Attributes:
    engine: Speech engine name (`generators.speech.SPEECH_ENGINES`).
    voices: Its voices, drawn uniformly.
    variants: espeak-ng only: variants, drawn after the voice.
  """

  engine: str
  voices: tuple[str, ...]
  variants: tuple[str, ...] = ()


# The voice groups a mix can name (`--gen_voice_mix=flite:0.7,espeak:0.3`).
VOICE_GROUPS = {
    'flite': VoiceGroup('flite', FLITE_VOICES),
    'espeak': VoiceGroup('espeak-ng', ESPEAK_ACCENTS, ESPEAK_VARIANTS),
    'festival': VoiceGroup('festival', ('kal_diphone', 'ked_diphone')),
    'festival_hts': VoiceGroup('festival', ('cmu_us_slt_arctic_hts',)),
    'pico': VoiceGroup('pico', ('en-US', 'en-GB')),
    'pico_accented': VoiceGroup('pico', ('de-DE', 'es-ES', 'fr-FR', 'it-IT')),
    'piper': VoiceGroup('piper', ('joe',)),
    # The speaker is an x-vector drawn per prompt (`--gen_xvectors`).
    'speecht5': VoiceGroup('speecht5', ('xvector',)),
}
# The best mix of the voice calibration with the speech front end of
# docs/results.md section 13 (synthetic-only validation accuracy 80.8% over
# 3 seeds, against 77.3% for the earlier default `flite:0.7,espeak:0.3`;
# results section 14). Groups that are not installed drop out and the
# others share their draws (`generators.speech.installed_voice_mix`).
DEFAULT_VOICE_MIX = (('festival', 0.2), ('flite', 0.2), ('espeak', 0.2),
                     ('piper', 0.2), ('pico', 0.2))


def parse_voice_mix(text: str) -> tuple[tuple[str, float], ...]:
  """Parses `group:share,group:share` (a bare group gets share 1).

  Raises:
    PromptError: Naming `--gen_voice_mix`, on bad syntax.
  """
  groups = []
  for item in text.split(','):
    name, _, share = item.strip().partition(':')
    try:
      groups.append((name, float(share) if share else 1.0))
    except ValueError:
      raise PromptError(
          f'--gen_voice_mix: {item!r} is not group:share (e.g. '
          'flite:0.7,espeak:0.3).') from None
  return tuple(groups)


IMAGE_DOMAINS = (
    'a photo of a {}',
    'a drawing of a {}',
    'a painting of a {}',
    'a sketch of a {}',
    'a 3D rendering of a {}',
    'a cartoon of a {}',
    'a close-up photo of a {}',
    'a low-resolution photo of a {}',
    'a bright photo of a {}',
    'a photo of a small {}',
)
GUIDANCE_SCALES = (1, 2, 3, 4, 5)


class PromptError(errors.UserError, ValueError):
  """Bad prompt settings; the message says what to change."""


@dataclasses.dataclass(frozen=True)
class Prompt:
  """One generation request.

  Attributes:
    id: Unique, stable id (`{label_id:03d}-{k:06d}`).
    label_id: Class id (index into the label list).
    label: Label name.
    text: What the generator is given (the word to speak, or image prompt).
    kind: 'speech' or 'image'.
    params: Generation parameters (voice, rate, guidance scale, seed, ...).
  """

  id: str
  label_id: int
  label: str
  text: str
  kind: str
  params: dict[str, Any]

  def to_json(self) -> str:
    return json.dumps(dataclasses.asdict(self), sort_keys=True,
                      ensure_ascii=False)

  @classmethod
  def from_json(cls, line: str) -> 'Prompt':
    return cls(**json.loads(line))


@dataclasses.dataclass(frozen=True)
class VoiceMix:
  """The distribution speech prompts draw voices from.

  A prompt draws a speaking rate and a pitch, then a voice group by its
  share, then a voice of the group (and, for espeak-ng, a variant and an
  amplitude). The groups `flite:0.7,espeak:0.3` (the default until the
  calibration of results section 14) draw as the earlier two-engine mix
  did, so earlier prompt sets can be made again.

  Attributes:
    groups: `(group, share)` pairs; groups are keys of `VOICE_GROUPS`,
      shares are positive and sum to 1.
    wpm_range: Speaking-rate range, words per minute (espeak-ng `-s`; the
      other engines map it to a duration stretch of `160 / wpm`).
    pitch_range: espeak-ng pitch 0-99; flite and festival's diphone voices
      take it as an f0 mean of 80 + pitch Hz, Pico as 50 + pitch percent.
    amplitude_range: espeak-ng amplitude; <= 90 avoids clipping.
    installed: The groups as installed on this machine, by name
      (`generators.speech.installed_voice_mix` fills it in); None: as in
      `VOICE_GROUPS`.
    engine_options: Fixed params added to every prompt of an engine, by
      engine (e.g. SpeechT5's model folder and x-vector file).
  """

  groups: tuple[tuple[str, float], ...] = DEFAULT_VOICE_MIX
  wpm_range: tuple[int, int] = (120, 175)
  pitch_range: tuple[int, int] = (25, 75)
  amplitude_range: tuple[int, int] = (60, 90)
  installed: Optional[Mapping[str, VoiceGroup]] = None
  engine_options: Mapping[str, Mapping[str, Any]] = dataclasses.field(
      default_factory=dict)

  def __post_init__(self):
    names = [name for name, _ in self.groups]
    unknown = sorted(set(names) - set(VOICE_GROUPS))
    if unknown or not names or len(set(names)) != len(names):
      raise PromptError(
          f'--gen_voice_mix names {names}: each group once, from '
          f'{sorted(VOICE_GROUPS)}.')
    shares = [share for _, share in self.groups]
    if min(shares) <= 0 or abs(sum(shares) - 1.0) > 1e-6:
      raise PromptError(
          f'--gen_voice_mix shares {shares} must be > 0 and sum to 1.')
    lo, hi = self.wpm_range
    if not 80 <= lo <= hi <= MAX_WPM:
      raise PromptError(
          f'wpm_range {self.wpm_range} must lie in [80, {MAX_WPM}]: faster '
          'synthetic speech transferred worse to real speakers.'
      )
    if self.amplitude_range[1] > 90:
      raise PromptError('espeak-ng amplitude above 90 clips; keep it <= 90.')

  def __str__(self) -> str:
    return ','.join(f'{name}:{share:g}' for name, share in self.groups)


def sample_voice(mix: VoiceMix, rng: np.random.Generator) -> dict[str, Any]:
  """Draws one voice description."""
  wpm = int(rng.integers(mix.wpm_range[0], mix.wpm_range[1] + 1))
  pitch = int(rng.integers(mix.pitch_range[0], mix.pitch_range[1] + 1))
  u = rng.random()
  name = mix.groups[-1][0]
  for name, share in mix.groups:
    if u < share:
      break
    u -= share
  group = (mix.installed or VOICE_GROUPS)[name]
  params = {'engine': group.engine,
            'voice': str(rng.choice(list(group.voices)))}
  if group.variants:
    params['variant'] = str(rng.choice(list(group.variants)))
  params.update(wpm=wpm, pitch=pitch)
  if group.engine == 'espeak-ng':
    params['amplitude'] = int(rng.integers(
        mix.amplitude_range[0], mix.amplitude_range[1] + 1))
  params.update(mix.engine_options.get(group.engine, {}))
  return params


class Expander(Protocol):
  """Turns a label name into prompt texts."""

  def expand(
      self, label: str, count: int, rng: np.random.Generator
  ) -> list[str]:
    ...


def cycle(texts: Sequence[str], count: int,
          rng: np.random.Generator) -> list[str]:
  """`count` of `texts` in a seeded order, cycling when there are fewer.

  Args:
    texts: The texts to draw from (at least one).
    count: How many to return.
    rng: Draws the order.

  Returns:
    The texts.
  """
  order = rng.permutation(len(texts))
  return [texts[order[k % len(order)]] for k in range(count)]


@dataclasses.dataclass(frozen=True)
class TemplateExpander:
  """Fills label names into templates, cycling through a seeded order."""

  templates: Sequence[str] = IMAGE_DOMAINS

  def expand(self, label, count, rng):
    return [t.format(label) for t in cycle(self.templates, count, rng)]


def _ids(labels: Sequence[str],
         label_ids: Optional[Sequence[int]]) -> Sequence[int]:
  if label_ids is None:
    return range(len(labels))
  if len(label_ids) != len(labels):
    raise PromptError(
        f'{len(label_ids)} label ids for {len(labels)} labels; pass one each.')
  return label_ids


def _check(labels: Sequence[str], per_label: int) -> None:
  if per_label < 1:
    raise PromptError(f'per_label must be >= 1, got {per_label}.')
  if not labels:
    raise PromptError('No label names; run label discovery first.')
  if len(set(labels)) != len(labels):
    raise PromptError(f'Duplicate label names in {list(labels)}.')


def create_speech_prompts(
    labels: Sequence[str],
    per_label: int,
    seed: int,
    mix: VoiceMix = VoiceMix(),
    label_ids: Optional[Sequence[int]] = None,
) -> list[Prompt]:
  """`per_label` speech prompts per label, each with a drawn voice.

  Args:
    labels: Label names (e.g. from label discovery).
    per_label: Prompts per label.
    seed: Seed of every draw.
    mix: Voice distribution.
    label_ids: The task's class id of each label (default: list position).

  Returns:
    The prompts, label by label.

  Raises:
    PromptError: On empty or duplicate labels or `per_label < 1`.
  """
  _check(labels, per_label)
  prompts = []
  for label_id, label in zip(_ids(labels, label_ids), labels):
    rng = np.random.default_rng([seed, label_id])
    for k in range(per_label):
      params = sample_voice(mix, rng)
      params['seed'] = int(rng.integers(0, 2**31 - 1))
      prompts.append(Prompt(
          f'{label_id:03d}-{k:06d}', label_id, label, label, 'speech', params))
  return prompts


def create_image_prompts(
    labels: Sequence[str],
    per_label: int,
    seed: int,
    expander: Optional[Expander] = None,
    guidance_scales: Sequence[int] = GUIDANCE_SCALES,
    label_ids: Optional[Sequence[int]] = None,
) -> list[Prompt]:
  """`per_label` image prompts per label, with drawn guidance and seeds.

  The guidance scale of each image is drawn uniformly from
  `guidance_scales` (GPT-FL: the integers 1..5), its seed from the prompt
  seed stream.

  Raises:
    PromptError: On empty or duplicate labels or `per_label < 1`.
  """
  _check(labels, per_label)
  expander = expander or TemplateExpander()
  prompts = []
  for label_id, label in zip(_ids(labels, label_ids), labels):
    rng = np.random.default_rng([seed, label_id])
    texts = expander.expand(label, per_label, rng)
    if len(texts) != per_label:
      raise PromptError(
          f'Expander returned {len(texts)} texts for {label!r}, '
          f'expected {per_label}.'
      )
    for k, text in enumerate(texts):
      params = {
          'guidance_scale': int(rng.choice(list(guidance_scales))),
          'seed': int(rng.integers(0, 2**31 - 1)),
      }
      prompts.append(Prompt(
          f'{label_id:03d}-{k:06d}', label_id, label, text, 'image', params))
  return prompts


def write_jsonl(path: str, prompts: Sequence[Prompt]) -> None:
  """Writes prompts one per line, atomically."""
  io_utils.atomic_write_text(
      path, ''.join(p.to_json() + '\n' for p in prompts))


def read_jsonl(path: str) -> list[Prompt]:
  """Reads a prompts file written by `write_jsonl`.

  Raises:
    PromptError: If a line is not a valid prompt (names the line).
  """
  prompts = []
  with open(path, encoding='utf-8') as f:
    for n, line in enumerate(f, 1):
      if not line.strip():
        continue
      try:
        prompts.append(Prompt.from_json(line))
      except (json.JSONDecodeError, TypeError) as e:
        raise PromptError(f'{path}:{n}: not a prompt ({e}).') from e
  return prompts
