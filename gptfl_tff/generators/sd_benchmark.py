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
"""Stable Diffusion 2.1 throughput with random weights (GPT-FL, Sec. 3.2).

How many images a second the generation stage of GPT-FL gets from one GPU
does not depend on the weights' values: it is set by the architecture. This
module builds the full-size SD 2.1 UNet, VAE and OpenCLIP-H text encoder from
the published `stabilityai/stable-diffusion-2-1` configuration with random
weights (the weights themselves cannot be downloaded here), puts them in the
same diffusers `StableDiffusionPipeline` with the DPM-Solver multistep
scheduler that `stable_diffusion.py` uses, and times whole pipeline calls
(text encoding, denoising with classifier-free guidance, VAE decoding, PIL
conversion). The images are noise; only the timings mean anything.
"""

import dataclasses
import tempfile
import time
from typing import Any, Sequence

from gptfl_tff.generators import tiny_diffusion

# The configuration files of stabilityai/stable-diffusion-2-1 (768-v).
SD21_UNET = dict(
    act_fn='silu', attention_head_dim=(5, 10, 20, 20),
    block_out_channels=(320, 640, 1280, 1280), center_input_sample=False,
    cross_attention_dim=1024,
    down_block_types=('CrossAttnDownBlock2D', 'CrossAttnDownBlock2D',
                      'CrossAttnDownBlock2D', 'DownBlock2D'),
    downsample_padding=1, dual_cross_attention=False, flip_sin_to_cos=True,
    freq_shift=0, in_channels=4, layers_per_block=2, mid_block_scale_factor=1,
    norm_eps=1e-5, norm_num_groups=32, only_cross_attention=False,
    out_channels=4, sample_size=96,
    up_block_types=('UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D',
                    'CrossAttnUpBlock2D'),
    upcast_attention=True, use_linear_projection=True)
SD21_VAE = dict(
    act_fn='silu', block_out_channels=(128, 256, 512, 512),
    down_block_types=('DownEncoderBlock2D',) * 4, in_channels=3,
    latent_channels=4, layers_per_block=2, norm_num_groups=32, out_channels=3,
    sample_size=768, up_block_types=('UpDecoderBlock2D',) * 4)
SD21_TEXT_ENCODER = dict(
    attention_dropout=0.0, bos_token_id=0, dropout=0.0, eos_token_id=2,
    hidden_act='gelu', hidden_size=1024, initializer_factor=1.0,
    initializer_range=0.02, intermediate_size=4096, layer_norm_eps=1e-5,
    max_position_embeddings=77, num_attention_heads=16, num_hidden_layers=23,
    pad_token_id=1, projection_dim=512, vocab_size=49408)
SD21_SCHEDULER = dict(
    beta_start=0.00085, beta_end=0.012, beta_schedule='scaled_linear',
    num_train_timesteps=1000, prediction_type='v_prediction', steps_offset=1)


def create_sd21_components(device: str = 'cpu', dtype: Any = None):
  """Builds SD 2.1's UNet, VAE and text encoder with random weights.

  Args:
    device: Torch device the parameters are created on ('meta' counts
      parameters without allocating them).
    dtype: Torch dtype to cast to (None keeps float32).

  Returns:
    (unet, vae, text_encoder).
  """
  import diffusers  # pylint: disable=g-import-not-at-top
  import torch  # pylint: disable=g-import-not-at-top
  import transformers  # pylint: disable=g-import-not-at-top
  with torch.device(device):
    unet = diffusers.UNet2DConditionModel(**SD21_UNET)
    vae = diffusers.AutoencoderKL(**SD21_VAE)
    text_encoder = transformers.CLIPTextModel(
        transformers.CLIPTextConfig(**SD21_TEXT_ENCODER))
  if dtype is not None:
    unet, vae, text_encoder = (m.to(dtype) for m in (unet, vae, text_encoder))
  return unet, vae, text_encoder


def create_sd21_random_pipeline(device: str, dtype: Any = None):
  """A full-size SD 2.1 `StableDiffusionPipeline` with random weights.

  The tokenizer is the locally built byte-level CLIP tokenizer of
  `tiny_diffusion` (the real BPE files cannot be downloaded); tokenizing is
  not part of the compute that matters, and prompts are padded to 77 tokens
  either way.

  Args:
    device: 'cuda' or 'cpu'.
    dtype: Torch dtype (fp16 on CUDA, as `stable_diffusion.py` loads).

  Returns:
    The pipeline, on `device`.
  """
  import diffusers  # pylint: disable=g-import-not-at-top
  unet, vae, text_encoder = create_sd21_components(device, dtype)
  pipe = diffusers.StableDiffusionPipeline(
      vae=vae, text_encoder=text_encoder,
      tokenizer=tiny_diffusion.create_tokenizer(), unet=unet,
      scheduler=diffusers.DPMSolverMultistepScheduler(**SD21_SCHEDULER),
      safety_checker=None, feature_extractor=None,
      requires_safety_checker=False)
  pipe.set_progress_bar_config(disable=True)
  return pipe.to(device)


@dataclasses.dataclass(frozen=True)
class Timing:
  """One timed pipeline call."""

  resolution: int
  batch_size: int
  steps: int
  guidance_scale: float
  seconds: float
  images_per_second: float
  peak_memory_gib: float


def check_grid(resolutions: Sequence[int], batch_sizes: Sequence[int],
               steps: Sequence[int], guidance_scales: Sequence[float],
               repeats: int = 1) -> None:
  """Checks a timing grid before any model is built.

  Raises:
    ValueError: If an axis is empty, a size, step count or repeat count is
      below 1, a resolution is not a multiple of 8, or a guidance scale is
      below 1.
  """
  if not (resolutions and batch_sizes and steps and guidance_scales):
    raise ValueError('Every grid axis needs at least one value.')
  if min(list(resolutions) + list(batch_sizes) + list(steps) + [repeats]) < 1:
    raise ValueError('Resolutions, batch sizes, steps and repeats must be '
                     '>= 1.')
  if any(r % 8 for r in resolutions):
    raise ValueError(f'Resolutions must be multiples of 8; got {resolutions}.')
  if min(guidance_scales) < 1:
    raise ValueError(f'Guidance scales must be >= 1; got {guidance_scales}.')


def measure(pipe, resolutions: Sequence[int], batch_sizes: Sequence[int],
            steps: Sequence[int], guidance_scales: Sequence[float] = (5.0,),
            repeats: int = 1) -> list[Timing]:
  """Times `pipe` over a grid; the best of `repeats` calls per point.

  Each (resolution, batch size) gets one untimed 2-step warm-up call first
  (kernel selection, allocator growth).

  Args:
    pipe: A `StableDiffusionPipeline`.
    resolutions: Image sides in pixels (multiples of 8).
    batch_sizes: Images per call.
    steps: Denoising step counts.
    guidance_scales: Scales to time; 1 turns classifier-free guidance off
      (half the UNet work), > 1 turns it on.
    repeats: Timed calls per point.

  Returns:
    One `Timing` per grid point.

  Raises:
    ValueError: On a bad grid (see `check_grid`).
  """
  import torch  # pylint: disable=g-import-not-at-top
  check_grid(resolutions, batch_sizes, steps, guidance_scales, repeats)
  cuda = pipe.device.type == 'cuda'

  def call(resolution, batch_size, n_steps, scale):
    generator = torch.Generator(pipe.device).manual_seed(0)
    if cuda:
      torch.cuda.synchronize()
    start = time.perf_counter()
    images = pipe(prompt=['a photo of an airplane'] * batch_size,
                  guidance_scale=scale, num_inference_steps=n_steps,
                  height=resolution, width=resolution, generator=generator,
                  output_type='pil').images
    if cuda:
      torch.cuda.synchronize()
    assert len(images) == batch_size
    return time.perf_counter() - start

  out = []
  for resolution in resolutions:
    for batch_size in batch_sizes:
      call(resolution, batch_size, 2, max(guidance_scales))
      for scale in guidance_scales:
        for n_steps in steps:
          if cuda:
            torch.cuda.reset_peak_memory_stats()
          seconds = min(call(resolution, batch_size, n_steps, scale)
                        for _ in range(repeats))
          peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else 0.0
          out.append(Timing(resolution, batch_size, n_steps, scale, seconds,
                            batch_size / seconds, peak))
  return out


def benchmark(device: str, resolutions: Sequence[int],
              batch_sizes: Sequence[int], steps: Sequence[int],
              guidance_scales: Sequence[float] = (5.0,), repeats: int = 1,
              tiny: bool = False) -> dict[str, Any]:
  """Builds the random pipeline and times it over the grid.

  Args:
    device: 'cuda', 'cpu' or 'auto'.
    resolutions, batch_sizes, steps, guidance_scales, repeats: See `measure`.
    tiny: Time the toy pipeline of `tiny_diffusion` instead of full-size SD
      2.1 (for smoke tests; its numbers mean nothing).

  Returns:
    A JSON-ready dict: device name, library versions, parameter counts and
    one entry per timing.

  Raises:
    RuntimeError: If CUDA was asked for and is not available.
    ValueError: On a bad grid (checked before the model is built).
  """
  import diffusers  # pylint: disable=g-import-not-at-top
  import torch  # pylint: disable=g-import-not-at-top
  import transformers  # pylint: disable=g-import-not-at-top
  check_grid(resolutions, batch_sizes, steps, guidance_scales, repeats)
  if device == 'auto':
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
  if device == 'cuda' and not torch.cuda.is_available():
    raise RuntimeError('--gen_device=cuda but torch sees no CUDA device; '
                       'use --gen_device=cpu or run on a GPU machine.')
  dtype = torch.float16 if device == 'cuda' else torch.float32
  if tiny:
    with tempfile.TemporaryDirectory() as tmp:
      tiny_diffusion.create_tiny_pipeline(tmp)
      pipe = diffusers.StableDiffusionPipeline.from_pretrained(
          tmp, torch_dtype=dtype, safety_checker=None,
          requires_safety_checker=False, local_files_only=True).to(device)
    pipe.set_progress_bar_config(disable=True)
  else:
    pipe = create_sd21_random_pipeline(device, dtype)
  params = {name: sum(p.numel() for p in getattr(pipe, name).parameters())
            for name in ('unet', 'vae', 'text_encoder')}
  timings = measure(pipe, resolutions, batch_sizes, steps, guidance_scales,
                    repeats)
  return {
      'model': 'tiny random stand-in' if tiny else
               'SD 2.1 (768-v) architecture, random weights',
      'device': (torch.cuda.get_device_name() if device == 'cuda'
                 else 'cpu'),
      'dtype': str(dtype).replace('torch.', ''),
      'versions': {'torch': torch.__version__,
                   'diffusers': diffusers.__version__,
                   'transformers': transformers.__version__},
      'parameters': params,
      'timings': [dataclasses.asdict(t) for t in timings],
  }


def to_markdown(result: dict[str, Any]) -> str:
  """A Markdown table of a `benchmark` result."""
  lines = [
      f"{result['model']} on {result['device']} ({result['dtype']}; "
      f"torch {result['versions']['torch']}, diffusers "
      f"{result['versions']['diffusers']})",
      '',
      '| resolution | batch | steps | guidance | s / call | images / s '
      '| peak GiB |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ]
  for t in result['timings']:
    lines.append(
        f"| {t['resolution']} | {t['batch_size']} | {t['steps']} | "
        f"{t['guidance_scale']:g} | {t['seconds']:.2f} | "
        f"{t['images_per_second']:.2f} | {t['peak_memory_gib']:.1f} |")
  return '\n'.join(lines) + '\n'
