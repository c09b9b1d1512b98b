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
"""Tests for gptfl_tff.synthesis.speech_filter (pocketsphinx, for real)."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from gptfl_tff import audio
from gptfl_tff.generators import flite
from gptfl_tff.synthesis import speech_filter

_DIGITS = ('zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven',
           'eight', 'nine')


class SpeechFilterTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(8000, 16000, 44100)
  def test_hears_the_word_at_any_rate(self, rate):
    if not flite.is_available():
      self.skipTest('flite not installed')
    samples, source = flite.synthesize(
        'seven', {'voice': 'kal16', 'wpm': 150, 'pitch': 40})
    clip = audio.resample(samples, source, rate)
    self.assertEqual(
        speech_filter.WordRecognizer(_DIGITS).recognize(clip, rate), 'seven')

  def test_hears_nothing_in_noise(self):
    noise = np.random.default_rng(0).normal(0, 0.3, 16000).astype(np.float32)
    self.assertIsNone(
        speech_filter.WordRecognizer(_DIGITS).recognize(noise, 16000))

  def test_words_outside_the_dictionary_name_the_flag(self):
    with self.assertRaisesRegex(speech_filter.FilterError,
                                r"cannot check \['zxqv'\].*--nogen_asr_filter"):
      speech_filter.WordRecognizer(['seven', 'zxqv'])


if __name__ == '__main__':
  tf.test.main()
