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
"""Stable Diffusion 2 with KerasCV: the TensorFlow-native backend (Sec. 3.2).

The same contract as `stable_diffusion.py` (diffusers): prompts in, one PNG
record per prompt out, resized to the task resolution, through the same
sharded writer, with the guidance scale and seed each prompt carries. What
differs is KerasCV's own sampler: a DDIM-style loop (no DPM-Solver option)
that runs classifier-free guidance at every step, two UNet calls even at
scale 1, at image sides that are multiples of 128.

Each image starts from its own noise, drawn from its prompt's seed with a
stateless TF normal, so an image does not depend on what it was batched
with (up to floating-point batching effects); prompts are batched by
guidance scale as in `stable_diffusion.calls_by_guidance`.

Weights. `weights='pretrained'` is KerasCV's `StableDiffusionV2`, whose
weights and CLIP BPE vocabulary download on first use (network needed).
`weights='random'` builds the same full-size networks (TextEncoderV2,
DiffusionModelV2, Decoder) with random weights and downloads nothing; its
tokenizer reads `bpe_path`, or a byte-level vocabulary without merges that
`write_byte_bpe` writes (every byte a token). That is what tests and
throughput checks use; its images are noise.
"""

import dataclasses
import gzip
import os
import tempfile
from typing import Optional, Sequence

import numpy as np

from gptfl_tff.generators import stable_diffusion
from gptfl_tff.prompting import prompts as prompts_lib
from gptfl_tff.synthesis import synthetic_records

MODEL_ID = 'keras-cv/StableDiffusionV2'
_MAX_TOKENS = 77
_END_OF_TEXT = 49407
WEIGHTS = ('pretrained', 'random')


@dataclasses.dataclass(frozen=True)
class KerasCVConfig:
  """How images are generated with KerasCV.

  Attributes:
    weights: 'pretrained' (downloads on first use) or 'random'.
    bpe_path: A CLIP BPE vocabulary (.txt.gz); None: KerasCV downloads it
      ('pretrained') or a byte-level one is written ('random').
    steps: Denoising steps.
    resolution: Generated image side, a multiple of 128 (SD 2: 512 or 768).
    output_size: Side of the stored image (the task resolution).
    batch_size: Images per sampler call.
    jit_compile: XLA-compile the networks (KerasCV's default; off for CPU
      tests, where compiling costs more than it saves).
  """

  weights: str = 'pretrained'
  bpe_path: Optional[str] = None
  steps: int = 25
  resolution: int = 512
  output_size: int = 32
  batch_size: int = 8
  jit_compile: bool = True

  def __post_init__(self):
    if self.weights not in WEIGHTS:
      raise ValueError(f'weights must be one of {WEIGHTS}; got '
                       f'{self.weights!r}.')
    if (self.steps < 1 or self.resolution < 128 or self.resolution % 128 or
        self.output_size < 1 or self.batch_size < 1):
      raise ValueError(
          'Need steps >= 1, resolution a multiple of 128 (KerasCV rounds '
          'other sizes), output_size >= 1 and batch_size >= 1; got '
          f'{self.steps}, {self.resolution}, {self.output_size}, '
          f'{self.batch_size}.')
    if self.bpe_path and not os.path.exists(self.bpe_path):
      raise ValueError(f'No BPE vocabulary at {self.bpe_path!r}.')

  @property
  def model_id(self) -> str:
    return MODEL_ID + ('' if self.weights == 'pretrained' else ':random')


def write_byte_bpe(path: str) -> str:
  """Writes a CLIP-format BPE file with no merges; returns `path`."""
  with gzip.open(path, 'wt', encoding='utf-8') as f:
    f.write('#version: 0.2')
  return path


_MODELS = {}


def load_model(config: KerasCVConfig):
  """Builds (once per process) the KerasCV model with all its parts.

  Raises:
    stable_diffusion.ModelLoadError: If pretrained parts cannot be fetched.
  """
  key = (config.weights, config.bpe_path, config.resolution,
         config.jit_compile)
  if key in _MODELS:
    return _MODELS[key]
  import keras_cv  # pylint: disable=g-import-not-at-top
  # DiffusionModelV2 is not exported under keras_cv.models (keras-cv 0.9).
  from keras_cv.src.models.stable_diffusion import diffusion_model  # pylint: disable=g-import-not-at-top
  sd = keras_cv.models.stable_diffusion
  r = config.resolution
  model = keras_cv.models.StableDiffusionV2(
      img_height=r, img_width=r, jit_compile=config.jit_compile)
  bpe_path = config.bpe_path
  if config.weights == 'random':
    parts = {
        '_text_encoder': sd.TextEncoderV2(_MAX_TOKENS, download_weights=False),
        '_diffusion_model': diffusion_model.DiffusionModelV2(
            r, r, _MAX_TOKENS, download_weights=False),
        '_decoder': sd.Decoder(r, r, download_weights=False),
    }
    for name, part in parts.items():
      if config.jit_compile:
        part.compile(jit_compile=True)
      setattr(model, name, part)
    if not bpe_path:
      # The tokenizer reads its vocabulary when built.
      with tempfile.TemporaryDirectory() as tmp:
        model._tokenizer = sd.SimpleTokenizer(  # pylint: disable=protected-access
            bpe_path=write_byte_bpe(os.path.join(tmp, 'byte_bpe.txt.gz')))
  if bpe_path:
    model._tokenizer = sd.SimpleTokenizer(bpe_path=bpe_path)  # pylint: disable=protected-access
  try:
    for part in ('tokenizer', 'text_encoder', 'diffusion_model', 'decoder'):
      getattr(model, part)
  except Exception as e:  # get_file raises plain Exception offline.
    raise stable_diffusion.ModelLoadError(
        f'Could not fetch KerasCV StableDiffusionV2 weights ({e}). They '
        'download on first use; offline, run once where the network is '
        'reachable (they are cached under ~/.keras), or use '
        "weights='random' for plumbing and throughput checks.") from e
  _MODELS[key] = model
  return model


def _tokens(model, texts: Sequence[str]) -> np.ndarray:
  """CLIP token ids, truncated to 77 (end token kept) and padded."""
  out = np.full((len(texts), _MAX_TOKENS), _END_OF_TEXT, np.int32)
  for i, text in enumerate(texts):
    ids = model.tokenizer.encode(text)
    if len(ids) > _MAX_TOKENS:
      ids = ids[:_MAX_TOKENS - 1] + [_END_OF_TEXT]
    out[i, :len(ids)] = ids
  return out


def make_records(
    batch: Sequence[prompts_lib.Prompt], config: KerasCVConfig
) -> list[synthetic_records.SyntheticRecord]:
  """Generates one image per prompt (a `generation.RecordsFn`).

  Args:
    batch: Prompts (best a whole shard, as for `stable_diffusion`).
    config: How to generate.

  Returns:
    One PNG record per prompt, in the order of `batch`.
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  model = load_model(config)
  side = config.resolution // 8
  positions = np.arange(_MAX_TOKENS, dtype=np.int32)[None]
  out = {}
  for scale, call in stable_diffusion.calls_by_guidance(
      batch, config.batch_size):
    tokens = _tokens(model, [p.text for p in call])
    context = model.text_encoder.predict_on_batch(
        {'tokens': tokens,
         'positions': np.repeat(positions, len(call), axis=0)})
    noise = tf.stack([
        tf.random.stateless_normal(
            (side, side, 4), seed=[int(p.params['seed']) % 2**31, 0])
        for p in call])
    images = model.generate_image(
        context, batch_size=len(call), num_steps=config.steps,
        unconditional_guidance_scale=scale, diffusion_noise=noise)
    for p, image in zip(call, images):
      out[p.id] = synthetic_records.SyntheticRecord.from_image(
          p.id, p.label_id, p.label, image, config.output_size,
          dict(p.params, model_id=config.model_id, steps=config.steps,
               resolution=config.resolution, sampler='keras-cv-ddim',
               prompt_text=p.text))
  return [out[p.id] for p in batch]
