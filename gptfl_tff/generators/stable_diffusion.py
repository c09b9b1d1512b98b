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
"""Stable Diffusion image generation with diffusers (GPT-FL, Sec. 3.2).

GPT-FL generates its image data with Stable Diffusion 2.1, a DPM-Solver
multistep scheduler, and a guidance scale drawn per image from the integers
1..5 (carried by each prompt, with its seed). This module loads a
`StableDiffusionPipeline` from a model id (`stabilityai/stable-diffusion-2-1`)
or a local folder through `from_pretrained`, runs it in fp16 on CUDA and fp32
on CPU, and writes each image, resized to the task resolution, as a PNG
record. Images of one pipeline call share a guidance scale, so the prompts
given to `make_records` are grouped by scale and each group is cut into
calls of `batch_size` images: give it a whole shard (as
the chain does through `registry`) and nearly every call is full, where
cutting consecutive prompts first would split each batch into up to five
calls. Every image has its own `torch.Generator` seeded from its prompt, so
an image does not depend on what it was batched with (up to floating-point
batching effects).
"""

import dataclasses
from typing import Optional, Sequence

from gptfl_tff.generators import diffusers_loading
from gptfl_tff.prompting import prompts as prompts_lib
from gptfl_tff.synthesis import synthetic_records

SD21 = 'stabilityai/stable-diffusion-2-1'


@dataclasses.dataclass(frozen=True)
class DiffusionConfig:
  """How images are generated.

  Attributes:
    model: Hub model id or local folder of a saved pipeline.
    steps: Denoising steps.
    resolution: Generated image side (SD 2.1: 768; 2.1-base: 512).
    output_size: Side of the stored image (the task resolution).
    batch_size: Images per pipeline call (8 was the fastest on one GPU,
      docs/results.md).
    device: 'cuda', 'cpu' or 'auto'.
    local_files_only: Never touch the network (required offline).
  """

  model: str = SD21
  steps: int = 25
  resolution: int = 768
  output_size: int = 32
  batch_size: int = 8
  device: str = 'auto'
  local_files_only: bool = False

  def __post_init__(self):
    if (self.steps < 1 or self.resolution % 8 or self.output_size < 1 or
        self.batch_size < 1):
      raise ValueError(
          'Need steps >= 1, resolution a multiple of 8, output_size >= 1 and '
          f'batch_size >= 1; got {self.steps}, {self.resolution}, '
          f'{self.output_size}, {self.batch_size}.')


ModelLoadError = diffusers_loading.ModelLoadError


def _use_dpm_solver(pipe) -> None:
  """Swaps a loaded pipeline's scheduler for DPM-Solver multistep."""
  import diffusers  # pylint: disable=g-import-not-at-top
  pipe.scheduler = diffusers.DPMSolverMultistepScheduler.from_config(
      pipe.scheduler.config)


def load_pipeline(config: DiffusionConfig):
  """Loads (once per process) the pipeline with the DPM-Solver scheduler.

  Args:
    config: Its `model`, `device` and `local_files_only` are used.

  Returns:
    The `diffusers.StableDiffusionPipeline` on the config's device, without
    a safety checker.

  Raises:
    ModelLoadError: If the model cannot be loaded (offline: pass the folder
      of a pipeline saved with `save_pretrained`, and local_files_only).
  """
  return diffusers_loading.load_pipeline(
      'StableDiffusionPipeline', config.model, config.device,
      config.local_files_only, model_name='Stable Diffusion', hub_id=SD21,
      prepare=_use_dpm_solver, safety_checker=None,
      requires_safety_checker=False)


def make_records(
    batch: Sequence[prompts_lib.Prompt], config: DiffusionConfig
) -> list[synthetic_records.SyntheticRecord]:
  """Generates one image per prompt (a `generation.RecordsFn`).

  Args:
    batch: Prompts (best a whole shard: see the module docstring).
    config: How to generate.

  Returns:
    One PNG record per prompt, in the order of `batch`.
  """
  import torch  # pylint: disable=g-import-not-at-top
  pipe = load_pipeline(config)
  device = diffusers_loading.device(config.device)
  out = {}
  for scale, call in calls_by_guidance(batch, config.batch_size):
    generators = [torch.Generator(device).manual_seed(p.params['seed'])
                  for p in call]
    images = pipe(
        prompt=[p.text for p in call], guidance_scale=float(scale),
        num_inference_steps=config.steps, height=config.resolution,
        width=config.resolution, generator=generators,
        output_type='pil').images
    for p, image in zip(call, images):
      out[p.id] = synthetic_records.SyntheticRecord.from_image(
          p.id, p.label_id, p.label, image, config.output_size,
          dict(p.params, model_id=config.model, steps=config.steps,
               resolution=config.resolution, prompt_text=p.text))
  return [out[p.id] for p in batch]


def calls_by_guidance(
    batch: Sequence[prompts_lib.Prompt], batch_size: int,
    default: Optional[float] = None,
) -> list[tuple[float, list[prompts_lib.Prompt]]]:
  """Groups prompts by guidance scale, then cuts groups into calls.

  Args:
    batch: Prompts, each with a `guidance_scale` param (unless `default`).
    batch_size: Most prompts per call.
    default: The scale of prompts without one.

  Returns:
    (guidance scale, prompts) per pipeline call, scales ascending, prompts
    in their order within a scale.
  """
  by_scale = {}
  for p in batch:
    scale = p.params.get('guidance_scale', default)
    by_scale.setdefault(float(scale), []).append(p)
  return [(scale, group[i:i + batch_size])
          for scale, group in sorted(by_scale.items())
          for i in range(0, len(group), batch_size)]
