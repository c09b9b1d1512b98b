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
"""A tiny, randomly initialised Stable Diffusion pipeline: a STAND-IN.

Model weights cannot be downloaded on the machines this project is tested
on. This builds a pipeline with the real Stable Diffusion architecture
classes (UNet2DConditionModel, AutoencoderKL, CLIPTextModel, a CLIP
tokenizer) at toy sizes with random weights, and saves it with
`save_pretrained`, so tests and plumbing checks exercise exactly the
`from_pretrained` path users take with real weights. Its images are noise;
nothing measured with it is an accuracy.
"""

import json
import os
import tempfile


def byte_symbols() -> list[str]:
  """The GPT-2 byte-to-unicode table (CLIP's and RoBERTa's too).

  Returns:
    256 one-character strings, one a byte: the printable bytes as
    themselves, in code order, then the others as code points from 256 up.
  """
  printable = (list(range(ord('!'), ord('~') + 1)) +
               list(range(ord('¡'), ord('¬') + 1)) +
               list(range(ord('®'), ord('ÿ') + 1)))
  codes = printable[:]
  n = 0
  for b in range(256):
    if b not in printable:
      printable.append(b)
      codes.append(256 + n)
      n += 1
  return [chr(c) for c in codes]


def byte_level_tokenizer(tokenizer_class, vocab: dict[str, int],
                         model_max_length: int = 77):
  """A BPE tokenizer over `vocab` with no merges (every byte one token).

  The vocabulary and an empty merges list are written to a temporary folder
  and read back by `tokenizer_class`, as a downloaded tokenizer's would be.

  Args:
    tokenizer_class: A transformers BPE tokenizer class taking the paths of
      `vocab.json` and `merges.txt` (`CLIPTokenizer`, `RobertaTokenizer`).
    vocab: Token -> id, holding every symbol of `byte_symbols`.
    model_max_length: Longest token sequence.

  Returns:
    The `tokenizer_class` instance.
  """
  with tempfile.TemporaryDirectory() as tmp:
    vocab_path = os.path.join(tmp, 'vocab.json')
    merges_path = os.path.join(tmp, 'merges.txt')
    with open(vocab_path, 'w', encoding='utf-8') as f:
      json.dump(vocab, f, ensure_ascii=False)
    with open(merges_path, 'w', encoding='utf-8') as f:
      f.write('#version: 0.2\n')
    return tokenizer_class(vocab_path, merges_path,
                           model_max_length=model_max_length)


def create_tokenizer():
  """A byte-level `CLIPTokenizer` with no merges (77 tokens).

  Returns:
    The tokenizer: every byte's symbol, then each with `</w>`, then
    `<|startoftext|>` and `<|endoftext|>`.
  """
  import transformers  # pylint: disable=g-import-not-at-top
  symbols = byte_symbols()
  vocab = {}
  for s in symbols:
    vocab[s] = len(vocab)
  for s in symbols:
    vocab[s + '</w>'] = len(vocab)
  vocab['<|startoftext|>'] = len(vocab)
  vocab['<|endoftext|>'] = len(vocab)
  return byte_level_tokenizer(transformers.CLIPTokenizer, vocab)


def create_tiny_pipeline(folder: str, seed: int = 0) -> str:
  """Builds and saves a tiny random SD pipeline; returns `folder`."""
  import diffusers  # pylint: disable=g-import-not-at-top
  import torch  # pylint: disable=g-import-not-at-top
  import transformers  # pylint: disable=g-import-not-at-top

  torch.manual_seed(seed)
  tokenizer = create_tokenizer()
  text_encoder = transformers.CLIPTextModel(transformers.CLIPTextConfig(
      vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
      num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=77,
      bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
      pad_token_id=tokenizer.eos_token_id))
  unet = diffusers.UNet2DConditionModel(
      sample_size=8, in_channels=4, out_channels=4, layers_per_block=1,
      block_out_channels=(32, 64),
      down_block_types=('CrossAttnDownBlock2D', 'DownBlock2D'),
      up_block_types=('UpBlock2D', 'CrossAttnUpBlock2D'),
      cross_attention_dim=32, attention_head_dim=8, norm_num_groups=8)
  vae = diffusers.AutoencoderKL(
      in_channels=3, out_channels=3, latent_channels=4,
      block_out_channels=(16, 32), layers_per_block=1, norm_num_groups=8,
      down_block_types=('DownEncoderBlock2D',) * 2,
      up_block_types=('UpDecoderBlock2D',) * 2, sample_size=32)
  pipe = diffusers.StableDiffusionPipeline(
      vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
      scheduler=diffusers.DPMSolverMultistepScheduler(),
      safety_checker=None, feature_extractor=None,
      requires_safety_checker=False)
  pipe.save_pretrained(folder)
  return folder
