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
"""A tiny, randomly initialised AudioLDM pipeline: a STAND-IN.

Model weights cannot be downloaded on the machines this project is tested
on. This builds an `AudioLDMPipeline` from the real AudioLDM architecture
classes at toy sizes with random weights (a `UNet2DConditionModel`
conditioned, as AudioLDM is, through a class embedding of the CLAP text
embedding concatenated to the time embedding; a one-channel mel
`AutoencoderKL`; a `ClapTextModelWithProjection` with a `RobertaTokenizer`
made from a locally written byte-level vocabulary; a `SpeechT5HifiGan`
vocoder with AudioLDM's 160-sample hop at 16 kHz; a DDIM scheduler) and
saves it with `save_pretrained`, so tests and plumbing checks take exactly
the `from_pretrained` path users take with `cvssp/audioldm`. Its audio is
noise; nothing measured with it is an accuracy.
"""

from gptfl_tff.generators import tiny_diffusion

SAMPLE_RATE = 16000
NUM_MEL_BINS = 16
_SPECIALS = ('<s>', '<pad>', '</s>', '<unk>')


def create_tokenizer():
  """A byte-level `RobertaTokenizer` with no merges (77 tokens).

  Returns:
    The tokenizer: RoBERTa's specials, every byte's symbol, then `<mask>`.
  """
  import transformers  # pylint: disable=g-import-not-at-top
  vocab = {token: i for i, token in enumerate(_SPECIALS)}
  for s in tiny_diffusion.byte_symbols():
    vocab[s] = len(vocab)
  vocab['<mask>'] = len(vocab)
  return tiny_diffusion.byte_level_tokenizer(transformers.RobertaTokenizer,
                                             vocab)


def create_tiny_audioldm(folder: str, seed: int = 0) -> str:
  """Builds and saves a tiny random AudioLDM pipeline; returns `folder`."""
  import diffusers  # pylint: disable=g-import-not-at-top
  import torch  # pylint: disable=g-import-not-at-top
  import transformers  # pylint: disable=g-import-not-at-top

  torch.manual_seed(seed)
  tokenizer = create_tokenizer()
  text_encoder = transformers.ClapTextModelWithProjection(
      transformers.ClapTextConfig(
          vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
          num_hidden_layers=1, num_attention_heads=2, projection_dim=16,
          max_position_embeddings=80, pad_token_id=tokenizer.pad_token_id,
          bos_token_id=tokenizer.bos_token_id,
          eos_token_id=tokenizer.eos_token_id))
  unet = diffusers.UNet2DConditionModel(
      sample_size=16, in_channels=4, out_channels=4, layers_per_block=1,
      block_out_channels=(16, 32), norm_num_groups=8,
      down_block_types=('DownBlock2D', 'CrossAttnDownBlock2D'),
      up_block_types=('CrossAttnUpBlock2D', 'UpBlock2D'),
      cross_attention_dim=(16, 32), attention_head_dim=8,
      class_embed_type='simple_projection',
      projection_class_embeddings_input_dim=16,
      class_embeddings_concat=True)
  vae = diffusers.AutoencoderKL(
      in_channels=1, out_channels=1, latent_channels=4,
      block_out_channels=(16, 32), layers_per_block=1, norm_num_groups=8,
      down_block_types=('DownEncoderBlock2D',) * 2,
      up_block_types=('UpDecoderBlock2D',) * 2, sample_size=32)
  vocoder = transformers.SpeechT5HifiGan(transformers.SpeechT5HifiGanConfig(
      model_in_dim=NUM_MEL_BINS, sampling_rate=SAMPLE_RATE,
      upsample_initial_channel=64, upsample_rates=[5, 4, 2, 2, 2],
      upsample_kernel_sizes=[10, 8, 4, 4, 4], resblock_kernel_sizes=[3],
      resblock_dilation_sizes=[[1, 3, 5]], normalize_before=False,
      initializer_range=0.15))  # Audible, not silent, noise.
  scheduler = diffusers.DDIMScheduler(
      beta_start=0.00085, beta_end=0.012, beta_schedule='scaled_linear',
      clip_sample=False, set_alpha_to_one=False)
  pipe = diffusers.AudioLDMPipeline(
      vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
      scheduler=scheduler, vocoder=vocoder)
  pipe.save_pretrained(folder)
  return folder
