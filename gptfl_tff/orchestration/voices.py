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
"""Voice-mix calibration: synthetic-only accuracy per voice mix.

Beyond the paper (GPT-FL, Sec. 3.2 generates speech with one text-to-speech
model): which offline voices make synthetic speech that transfers to real
speakers is measured, not assumed. Every candidate mix (a voice group alone,
or a blend), with and without the ASR filter, runs the one chain up to
pretraining (and one federated round, which the calibration ignores) for
each seed; the pretrained model's accuracy on the real **validation** split
ranks the mixes. Test data is never read into the ranking or the summary.
"""

import dataclasses
import json
import os
from typing import Any, Optional, Sequence

import numpy as np

from gptfl_tff import console
from gptfl_tff import errors
from gptfl_tff import io_utils
from gptfl_tff.generators import speech
from gptfl_tff.orchestration import chain
from gptfl_tff.prompting import prompts


class CalibrationError(errors.UserError, ValueError):
  """Bad calibration settings."""


@dataclasses.dataclass(frozen=True)
class CalibrationConfig:
  """The calibration grid.

  Attributes:
    chain: The template chain (task, data, generator, pretraining).
    output_dir: Root of every run.
    mixes: Candidate voice mixes, `--gen_voice_mix` strings.
    asr_filters: Whether each mix runs without and/or with the ASR filter.
    seeds: Seeds.
  """

  chain: chain.ChainConfig
  output_dir: str
  mixes: Sequence[str] = tuple(prompts.VOICE_GROUPS)
  asr_filters: Sequence[bool] = (False, True)
  seeds: Sequence[int] = (0,)

  def __post_init__(self):
    if not (self.mixes and self.asr_filters and self.seeds):
      raise CalibrationError(
          '--calib_voice_mixes, --calib_asr_filters and --calib_seeds each '
          'need one or more values.')
    if len(set(self.mixes)) != len(self.mixes):
      raise CalibrationError(
          f'--calib_voice_mixes repeats a mix: {list(self.mixes)}.')
    for mix in self.mixes:
      voice_mix(self, mix)  # Raises on a bad mix.


def voice_mix(config: CalibrationConfig, mix: str) -> prompts.VoiceMix:
  """The template's voice mix with `mix`'s groups.

  Raises:
    prompts.PromptError: Naming the flag, for a bad mix.
  """
  return dataclasses.replace(config.chain.voice_mix,
                             groups=prompts.parse_voice_mix(mix))


def mix_name(mix: str) -> str:
  """A folder name for a mix: `flite:0.5,pico:0.5` -> `flite0.5+pico0.5`."""
  return '+'.join(f'{name}{share:g}' if share != 1 else name
                  for name, share in prompts.parse_voice_mix(mix))


def run_dir(config: CalibrationConfig, seed: int, mix: str,
            asr_filter: bool) -> str:
  return os.path.join(config.output_dir, f'seed{seed}',
                      mix_name(mix) + ('_asr' if asr_filter else ''))


def runs(config: CalibrationConfig):
  """Yields `(seed, mix, asr_filter)` of every run."""
  for seed in config.seeds:
    for mix in config.mixes:
      for asr_filter in config.asr_filters:
        yield seed, mix, asr_filter


def run_one(config: CalibrationConfig, seed: int, mix: str,
            asr_filter: bool, redo_from: Optional[str] = None) -> dict:
  """Runs (or resumes, or skips) one calibration run.

  Args:
    config: The calibration grid.
    seed: The run's seed.
    mix: The run's voice mix (`--gen_voice_mix` string).
    asr_filter: Whether the run filters its clips.
    redo_from: Redo this stage (`stages.ORDER`) and every later one.

  Returns:
    The chain's results.

  Raises:
    CalibrationError: If a group of the mix has no installed voice.
  """
  folder = run_dir(config, seed, mix, asr_filter)
  template = config.chain
  asked = voice_mix(config, mix)
  missing = sorted({n for n, _ in asked.groups} -
                   {n for n, _ in speech.installed_voice_mix(asked).groups})
  if missing:  # The chain would run the rest under this mix's name.
    raise CalibrationError(
        f'--calib_voice_mixes={mix}: groups {missing} have no installed '
        'voice; run tools/setup.sh or drop them.')
  return chain.run(dataclasses.replace(
      template,
      voice_mix=voice_mix(config, mix),
      generator=dataclasses.replace(template.generator,
                                    asr_filter=asr_filter),
      experiment=dataclasses.replace(
          template.experiment, seed=seed, rounds=1,
          output_dir=os.path.join(folder, 'federated')),
      output_dir=folder,
      shared_dir=os.path.join(config.output_dir, f'seed{seed}', 'shared'),
      pretraining=dataclasses.replace(template.pretraining, seed=seed)),
                   redo_from)


def run(config: CalibrationConfig, progress: bool = False,
        redo_from: Optional[str] = None) -> None:
  """Runs (or resumes) every calibration run, with a bar over runs."""
  grid = list(runs(config))
  with console.progress(len(grid), 'calibration runs', 'run',
                        enabled=progress) as bar:
    for seed, mix, asr_filter in grid:
      run_one(config, seed, mix, asr_filter, redo_from)
      bar.update(1, seed=seed, mix=mix, asr=asr_filter)


def summarize(config: CalibrationConfig) -> dict[str, Any]:
  """Validation accuracy and kept share per (mix, filter); the best one.

  Returns:
    `{'rows': [...], 'best': {...}}`, rows in grid order; `best` has the
    highest mean validation accuracy (ties: the earlier row).
  """
  rows = []
  for mix in config.mixes:
    for asr_filter in config.asr_filters:
      accs, kept = [], []
      for seed in config.seeds:
        path = os.path.join(run_dir(config, seed, mix, asr_filter),
                            chain.RESULTS)
        with open(path) as f:
          results = json.load(f)
        accs.append(results['synthetic_only']['val_accuracy'])
        kept.append(results['synthetic_records'] / results['prompts'])
      rows.append({'mix': mix, 'asr_filter': asr_filter,
                   'val_accuracy_mean': float(np.mean(accs)),
                   'val_accuracy_std': float(np.std(accs)),
                   'val_accuracy': accs,
                   'kept_share': float(np.mean(kept))})
  best = max(rows, key=lambda r: r['val_accuracy_mean'])
  return {'seeds': list(config.seeds), 'rows': rows, 'best': best}


def format_markdown(summary: dict[str, Any]) -> str:
  """The summary as a Markdown table, best row in bold."""
  lines = ['| voice mix | ASR filter | clips kept | synthetic-only '
           'validation accuracy (mean +- std) | per seed |',
           '| --- | --- | ---: | ---: | --- |']
  for row in summary['rows']:
    acc = (f"{100 * row['val_accuracy_mean']:.1f} +- "
           f"{100 * row['val_accuracy_std']:.1f}")
    if row == summary['best']:
      acc = f'**{acc}**'
    lines.append(
        f"| {row['mix']} | {'on' if row['asr_filter'] else 'off'} | "
        f"{100 * row['kept_share']:.0f}% | {acc} | "
        f"{', '.join(f'{a:.3f}' for a in row['val_accuracy'])} |")
  return '\n'.join(lines) + '\n'


def write_summary(config: CalibrationConfig) -> str:
  """Writes summary.json and summary.md; returns the Markdown."""
  summary = summarize(config)
  io_utils.atomic_write_json(
      os.path.join(config.output_dir, 'summary.json'), summary)
  table = format_markdown(summary)
  io_utils.atomic_write_text(
      os.path.join(config.output_dir, 'summary.md'), table)
  return table
