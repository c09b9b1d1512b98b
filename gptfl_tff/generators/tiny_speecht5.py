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
"""A tiny, randomly initialised SpeechT5 text-to-speech model: a STAND-IN.

Model weights cannot be downloaded on the machines this project is tested
on. This builds the real classes `speecht5.py` loads (a `SpeechT5Processor`,
`SpeechT5ForTextToSpeech` and a `SpeechT5HifiGan` vocoder) at toy sizes with
random weights and saves them with `save_pretrained`, so tests and plumbing
checks take exactly the `from_pretrained` path users take with
`microsoft/speecht5_tts` and `microsoft/speecht5_hifigan`. Its audio is
noise; nothing measured with it is an accuracy.

The real model's `SpeechT5Tokenizer` is a character-level SentencePiece
model (`spm_char.model`) and needs the `sentencepiece` package. The stand-in
needs no such package: its tokenizer is a character-level `tokenizers` model
with the same special tokens and ids (`<s>` 0, `<pad>` 1, `</s>` 2, `<unk>`
3, `▁` for spaces, `</s>` appended), saved as `tokenizer.json`, which
`SpeechT5Processor.from_pretrained` loads through `AutoTokenizer`.

The stop-token bias is set so that the random model never stops early: it
speaks until SpeechT5's length limit (20 frames per input token, in steps of
`reduction_factor` frames), so its clips are a few seconds long.
"""

import os

_SPECIALS = ('<s>', '<pad>', '</s>', '<unk>')
_CHARS = '▁' + "abcdefghijklmnopqrstuvwxyz0123456789'.,?!-"
NUM_MEL_BINS = 16
SAMPLE_RATE = 16000


def create_tokenizer():
  """A character-level tokenizer laid out like SpeechT5's `spm_char`."""
  import tokenizers  # pylint: disable=g-import-not-at-top
  from tokenizers import decoders  # pylint: disable=g-import-not-at-top
  from tokenizers import models  # pylint: disable=g-import-not-at-top
  from tokenizers import normalizers  # pylint: disable=g-import-not-at-top
  from tokenizers import pre_tokenizers  # pylint: disable=g-import-not-at-top
  from tokenizers import processors  # pylint: disable=g-import-not-at-top
  import transformers  # pylint: disable=g-import-not-at-top

  vocab = {token: i for i, token in enumerate(_SPECIALS + tuple(_CHARS))}
  # BPE without merges: every character is one token.
  tok = tokenizers.Tokenizer(
      models.BPE(vocab=vocab, merges=[], unk_token='<unk>'))
  tok.normalizer = normalizers.Lowercase()
  tok.pre_tokenizer = pre_tokenizers.Metaspace()
  tok.decoder = decoders.Metaspace()
  tok.post_processor = processors.TemplateProcessing(
      single='$A </s>', special_tokens=[('</s>', vocab['</s>'])])
  return transformers.PreTrainedTokenizerFast(
      tokenizer_object=tok, bos_token='<s>', eos_token='</s>',
      unk_token='<unk>', pad_token='<pad>', model_max_length=600)


def create_tiny_speecht5(folder: str, seed: int = 0) -> tuple[str, str]:
  """Builds and saves a tiny random SpeechT5 model and vocoder.

  Args:
    folder: Where to write; it gets `tts/` (processor and
      `SpeechT5ForTextToSpeech`) and `vocoder/` (`SpeechT5HifiGan`).
    seed: Seed of the random weights.

  Returns:
    `(model_dir, vocoder_dir)`: the `params['model']` and
    `params['vocoder']` of `speecht5.synthesize`.
  """
  import torch  # pylint: disable=g-import-not-at-top
  import transformers  # pylint: disable=g-import-not-at-top

  torch.manual_seed(seed)
  tokenizer = create_tokenizer()
  processor = transformers.SpeechT5Processor(
      feature_extractor=transformers.SpeechT5FeatureExtractor(
          num_mel_bins=NUM_MEL_BINS, sampling_rate=SAMPLE_RATE),
      tokenizer=tokenizer)
  model = transformers.SpeechT5ForTextToSpeech(transformers.SpeechT5Config(
      vocab_size=len(tokenizer), hidden_size=32, encoder_layers=1,
      decoder_layers=1, encoder_attention_heads=2, decoder_attention_heads=2,
      encoder_ffn_dim=64, decoder_ffn_dim=64, speech_decoder_prenet_units=32,
      speech_decoder_postnet_units=32, speech_decoder_postnet_layers=2,
      speech_decoder_postnet_kernel=3, num_mel_bins=NUM_MEL_BINS,
      speaker_embedding_dim=512, max_text_positions=600,
      max_speech_positions=600, reduction_factor=2,
      initializer_range=0.1,  # Lets speaker and pre-net dropout show.
      pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
      eos_token_id=tokenizer.eos_token_id,
      decoder_start_token_id=tokenizer.eos_token_id))
  with torch.no_grad():  # Never stop early (see the module docstring).
    model.speech_decoder_postnet.prob_out.bias.fill_(-4.0)
  # Hop 4 * 4 * 4 * 4 = 256 samples, as microsoft/speecht5_hifigan.
  vocoder = transformers.SpeechT5HifiGan(transformers.SpeechT5HifiGanConfig(
      model_in_dim=NUM_MEL_BINS, sampling_rate=SAMPLE_RATE,
      upsample_initial_channel=16, upsample_rates=[4, 4, 4, 4],
      upsample_kernel_sizes=[8, 8, 8, 8], resblock_kernel_sizes=[3],
      resblock_dilation_sizes=[[1, 3, 5]], normalize_before=True,
      initializer_range=0.2))  # Audible, not silent, noise.
  model_dir = os.path.join(folder, 'tts')
  vocoder_dir = os.path.join(folder, 'vocoder')
  processor.save_pretrained(model_dir)
  model.save_pretrained(model_dir)
  vocoder.save_pretrained(vocoder_dir)
  return model_dir, vocoder_dir
