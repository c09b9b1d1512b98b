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
"""Generator backends by name: one config, one factory (GPT-FL, Sec. 3.2).

A backend turns prompts into `SyntheticRecord`s for the sharded writer
(`generation.generate`). `create_records_fn` builds the picklable records
function of a backend for a task, and `settings` lists what shapes its
output (for the stage rule). Backends:

  * speech: espeak-ng and flite, the voice drawn per prompt (audio tasks);
  * diffusers: Stable Diffusion 2.1 through diffusers (a hub id or a saved
    pipeline folder);
  * keras_cv: KerasCV's StableDiffusionV2 (pretrained or random weights);
  * tiny_diffusers: a tiny randomly initialised SD pipeline, a stand-in for
    plumbing checks (its images are noise).
"""

import dataclasses
import enum
import functools
import os
import shutil
from typing import Any, Optional

from gptfl_tff import errors
from gptfl_tff.synthesis import generation


class Backend(enum.Enum):
  SPEECH = 'speech'
  DIFFUSERS = 'diffusers'
  KERAS_CV = 'keras_cv'
  TINY_DIFFUSERS = 'tiny_diffusers'


_MODALITY = {
    Backend.SPEECH: 'audio',
    Backend.DIFFUSERS: 'image',
    Backend.KERAS_CV: 'image',
    Backend.TINY_DIFFUSERS: 'image',
}


class GeneratorError(errors.UserError, ValueError):
  """A generator that does not fit the task or its settings."""


@dataclasses.dataclass(frozen=True)
class GeneratorConfig:
  """How synthetic data is generated.

  Attributes:
    backend: Which generator.
    model: diffusers: hub id or saved pipeline folder.
    keras_cv_weights: keras_cv: 'pretrained' or 'random'.
    steps: Denoising steps (image backends).
    resolution: Generated image side (image backends).
    batch_size: Images per pipeline call (image backends).
    records_per_shard: Records per TFRecord shard.
    workers: Parallel generation processes.
  """

  backend: Backend = Backend.SPEECH
  model: Optional[str] = None
  keras_cv_weights: str = 'pretrained'
  steps: int = 25
  resolution: int = 768
  batch_size: int = 8
  records_per_shard: int = 100
  workers: int = 2

  def __post_init__(self):
    if self.records_per_shard < 1 or self.workers < 1:
      raise GeneratorError(
          '--gen_records_per_shard and --gen_workers must be >= 1; got '
          f'{self.records_per_shard}, {self.workers}.')


def check(config: GeneratorConfig, modality: str) -> None:
  """Refuses a backend of another modality.

  Raises:
    GeneratorError: Naming `--gen_backend`.
  """
  if _MODALITY[config.backend] != modality:
    fits = sorted(b.value for b, m in _MODALITY.items() if m == modality)
    raise GeneratorError(
        f'--gen_backend={config.backend.value} makes '
        f'{_MODALITY[config.backend]} data but the task is {modality}; pass '
        f'--gen_backend= one of {fits}.')
  if config.backend == Backend.DIFFUSERS and not config.model:
    raise GeneratorError(
        '--gen_backend=diffusers needs --gen_model (an SD 2.1 hub id or a '
        'saved pipeline folder); --gen_backend=tiny_diffusers runs the '
        'plumbing with a tiny random stand-in.')


def settings(config: GeneratorConfig, task) -> dict[str, Any]:
  """What shapes the generated records (workers do not)."""
  out = {'backend': config.backend.value,
         'records_per_shard': config.records_per_shard}
  if config.backend == Backend.SPEECH:
    from gptfl_tff.generators import speech  # pylint: disable=g-import-not-at-top
    out['sample_rate'] = task.sample_rate
    out['engines'] = {name: module.version()
                      for name, module in speech.SPEECH_ENGINES.items()
                      if module.is_available()}
  else:
    out.update(model=config.model, steps=config.steps,
               resolution=config.resolution, batch_size=config.batch_size,
               output_size=task.image_size)
    if config.backend == Backend.KERAS_CV:
      out['keras_cv_weights'] = config.keras_cv_weights
  return out


def create_records_fn(
    config: GeneratorConfig, task, work_dir: str, seed: int
) -> tuple[generation.RecordsFn, int]:
  """The backend's records function for `task`, and its batch size.

  Args:
    config: Generator settings.
    task: The `tasks.base.Task`.
    work_dir: Where a stand-in pipeline may be written (the synthetic
      stage's folder).
    seed: Seed of a stand-in pipeline's weights.

  Returns:
    `(records_fn, batch_size)` for `generation.generate`.

  Raises:
    GeneratorError: For a backend that does not fit the task, or bad
      generator settings.
  """
  check(config, task.modality.value)
  if config.backend == Backend.SPEECH:
    from gptfl_tff.generators import speech  # pylint: disable=g-import-not-at-top
    return generation.per_prompt(
        speech.make_record, sample_rate=task.sample_rate), 1
  try:
    if config.backend == Backend.KERAS_CV:
      from gptfl_tff.generators import keras_cv_diffusion  # pylint: disable=g-import-not-at-top
      diffusion = keras_cv_diffusion.KerasCVConfig(
          weights=config.keras_cv_weights, steps=config.steps,
          resolution=config.resolution, output_size=task.image_size,
          batch_size=config.batch_size)
      make = keras_cv_diffusion.make_records
    else:
      from gptfl_tff.generators import stable_diffusion  # pylint: disable=g-import-not-at-top
      model = config.model
      if config.backend == Backend.TINY_DIFFUSERS:
        from gptfl_tff.generators import tiny_diffusion  # pylint: disable=g-import-not-at-top
        model = os.path.join(work_dir, 'tiny_random_sd')
        if not os.path.isdir(model):  # Written whole, then renamed.
          partial = model + '.partial'
          shutil.rmtree(partial, ignore_errors=True)
          tiny_diffusion.create_tiny_pipeline(partial, seed)
          os.replace(partial, model)
      diffusion = stable_diffusion.DiffusionConfig(
          model=model, steps=config.steps, resolution=config.resolution,
          output_size=task.image_size, batch_size=config.batch_size,
          local_files_only=os.path.isdir(model))
      make = stable_diffusion.make_records
  except ValueError as e:
    raise GeneratorError(f'Bad generation flags: {e}') from e
  # Whole shards go to the backend, which batches them by guidance scale.
  return functools.partial(make, config=diffusion), config.records_per_shard
