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
"""An ASR check that drops unintelligible synthetic speech.

Beyond the paper (GPT-FL, Sec. 4.3 reports text-to-speech failing on short
words): each generated clip is decoded by pocketsphinx (PyPI `pocketsphinx`,
which carries its English acoustic model and dictionary) under a grammar
that allows exactly one of the task's words, and a clip is kept only when
the recognised word is its own label. A grammar of the task's words makes
the check a closed-set one: it asks "which of these words is it?", not
"is this any English word?".

pocketsphinx keeps state from one utterance to the next (its scores for a
clip change after other clips), so callers build a fresh recognizer for
each shard (0.16 s): a shard's decisions then depend on its prompts alone,
whichever worker makes it and wherever a killed run resumes.
"""

import importlib.metadata
import os
import tempfile
from typing import Optional, Sequence

import numpy as np

from gptfl_tff import audio
from gptfl_tff import errors

SAMPLE_RATE = 16000  # pocketsphinx's default English model.


class FilterError(errors.UserError, ValueError):
  """Words the filter cannot check; the message says what to do."""


class WordRecognizer:
  """Recognises one word of a closed vocabulary in a clip."""

  def __init__(self, words: Sequence[str]):
    """Builds the decoder and its grammar.

    Args:
      words: The vocabulary (the task's label names, single words).

    Raises:
      FilterError: If a word is not in pocketsphinx's dictionary.
    """
    import pocketsphinx  # pylint: disable=g-import-not-at-top
    self.words = tuple(words)
    lookup = pocketsphinx.Decoder(loglevel='FATAL')
    missing = [w for w in self.words if lookup.lookup_word(w.lower()) is None]
    if missing:
      raise FilterError(
          f'The ASR filter cannot check {missing}: not in pocketsphinx\'s '
          'English dictionary; pass --nogen_asr_filter.')
    grammar = ('#JSGF V1.0;\ngrammar words;\npublic <word> = '
               + ' | '.join(w.lower() for w in self.words) + ' ;\n')
    with tempfile.TemporaryDirectory() as tmp:
      path = os.path.join(tmp, 'words.jsgf')
      with open(path, 'w') as f:
        f.write(grammar)
      self._decoder = pocketsphinx.Decoder(jsgf=path, loglevel='FATAL')

  def recognize(self, samples: np.ndarray, rate: int) -> Optional[str]:
    """The word heard in a clip.

    Args:
      samples: Float waveform in [-1, 1].
      rate: Its sample rate (resampled to 16 kHz here).

    Returns:
      The recognised word, or None if nothing matched.
    """
    wave = audio.resample(samples, rate, SAMPLE_RATE)
    pcm = (np.clip(wave, -1.0, 1.0) * 32767).astype('<i2').tobytes()
    self._decoder.start_utt()
    self._decoder.process_raw(pcm, full_utt=True)
    self._decoder.end_utt()
    hyp = self._decoder.hyp()
    return hyp.hypstr if hyp is not None and hyp.hypstr else None


def identity() -> str:
  """What decides the filter's output (for stage fingerprints)."""
  return (f"pocketsphinx {importlib.metadata.version('pocketsphinx')}, "
          'a decoder per shard')
