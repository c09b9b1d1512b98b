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
"""AudioLDM text-to-audio generation with diffusers (GPT-FL, Sec. 3.2, 4).

GPT-FL generates its environmental-sound data (ESC-50) with AudioLDM (Liu
et al., 2023), a latent diffusion model over mel spectrograms conditioned
on CLAP text embeddings, decoded to 16 kHz audio by a HiFi-GAN vocoder.
This module loads an `AudioLDMPipeline` from a model id (`cvssp/audioldm`)
or a local folder through `from_pretrained`, runs it in fp16 on CUDA and
fp32 on CPU, resamples each clip to the task rate with the project's audio
front end, and writes it as a 16-bit PCM record. The number of denoising
steps, the clip length and the guidance scale are settings of the whole
run (`AudioLDMConfig`); prompts are cut into calls of `batch_size`, and
every clip has its own `torch.Generator` seeded from its prompt's `seed`,
so a clip does not depend on what it was batched with (up to
floating-point batching effects).

diffusers marks `AudioLDMPipeline` deprecated (no fixes after 0.33.1) but
still ships it; the paper used AudioLDM, not AudioLDM 2.
"""

import dataclasses
from typing import Sequence

from gptfl_tff import audio
from gptfl_tff.generators import diffusers_loading
from gptfl_tff.generators import stable_diffusion
from gptfl_tff.prompting import prompts as prompts_lib
from gptfl_tff.synthesis import synthetic_records

AUDIOLDM = 'cvssp/audioldm'


@dataclasses.dataclass(frozen=True)
class AudioLDMConfig:
  """How sounds are generated.

  Attributes:
    model: Hub model id or local folder of a saved pipeline.
    steps: Denoising steps (`--gen_steps`; diffusers' default is 10).
    audio_seconds: Generated clip length (`--gen_audio_seconds`; ESC-50
      clips are 5 s). AudioLDM rounds it up to a whole number of latent
      frames and cuts the waveform back to this length.
    guidance_scale: Classifier-free guidance (`--gen_guidance`; 1 turns it
      off; diffusers' default is 2.5).
    sample_rate: Rate of the stored audio (the task's).
    batch_size: Clips per pipeline call (`--gen_batch_size`).
    device: 'cuda', 'cpu' or 'auto'.
    local_files_only: Never touch the network (required offline).
  """

  model: str = AUDIOLDM
  steps: int = 10
  audio_seconds: float = 5.0
  guidance_scale: float = 2.5
  sample_rate: int = 16000
  batch_size: int = 8
  device: str = 'auto'
  local_files_only: bool = False

  def __post_init__(self):
    if self.steps < 1:
      raise ValueError(f'--gen_steps must be >= 1; got {self.steps}.')
    if not self.audio_seconds > 0:
      raise ValueError(
          f'--gen_audio_seconds must be > 0; got {self.audio_seconds}.')
    if not self.guidance_scale >= 1:
      raise ValueError(
          '--gen_guidance must be >= 1 (1 turns classifier-free guidance '
          f'off); got {self.guidance_scale}.')
    if self.batch_size < 1:
      raise ValueError(
          f'--gen_batch_size must be >= 1; got {self.batch_size}.')
    if self.sample_rate < 1:
      raise ValueError(
          f"The task's sample_rate must be >= 1; got {self.sample_rate}.")


ModelLoadError = diffusers_loading.ModelLoadError


def load_pipeline(config: AudioLDMConfig):
  """Loads (once per process) the AudioLDM pipeline.

  Args:
    config: Its `model`, `device` and `local_files_only` are used.

  Returns:
    The `diffusers.AudioLDMPipeline` on the config's device.

  Raises:
    ModelLoadError: If the model cannot be loaded (offline: pass the folder
      of a pipeline saved with `save_pretrained`, and local_files_only).
  """
  return diffusers_loading.load_pipeline(
      'AudioLDMPipeline', config.model, config.device,
      config.local_files_only, model_name='AudioLDM', hub_id=AUDIOLDM)


def make_records(
    batch: Sequence[prompts_lib.Prompt], config: AudioLDMConfig
) -> list[synthetic_records.SyntheticRecord]:
  """Generates one clip per prompt (a `generation.RecordsFn`).

  Prompts that carry a `guidance_scale` (ESC-50's, drawn from 1-5 as the
  authors did) are generated at it, grouped by scale; others at
  `config.guidance_scale` (`--gen_guidance`).

  Args:
    batch: Prompts, each with an int `seed` param.
    config: How to generate.

  Returns:
    One audio record per prompt at `config.sample_rate`, in the order of
    `batch`; its params are the prompt's plus the generation settings.
  """
  import torch  # pylint: disable=g-import-not-at-top
  pipe = load_pipeline(config)
  device = diffusers_loading.device(config.device)
  rate = int(pipe.vocoder.config.sampling_rate)
  records = {}
  for scale, call in stable_diffusion.calls_by_guidance(
      batch, config.batch_size, default=config.guidance_scale):
    generators = [torch.Generator(device).manual_seed(int(p.params['seed']))
                  for p in call]
    clips = pipe(
        prompt=[p.text for p in call],
        audio_length_in_s=float(config.audio_seconds),
        num_inference_steps=config.steps,
        guidance_scale=scale, generator=generators,
        output_type='np').audios
    for p, clip in zip(call, clips):
      samples = audio.resample(clip, rate, config.sample_rate)
      params = dict(p.params, model_id=config.model, steps=config.steps,
                    audio_seconds=config.audio_seconds,
                    guidance_scale=scale, source_rate=rate,
                    prompt_text=p.text)
      records[p.id] = synthetic_records.SyntheticRecord.from_audio(
          p.id, p.label_id, p.label, samples, config.sample_rate, params)
  return [records[p.id] for p in batch]
