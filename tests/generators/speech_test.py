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
"""Tests for gptfl_tff.generators.speech (espeak-ng and flite, for real)."""

import dataclasses

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from gptfl_tff.generators import espeak
from gptfl_tff.generators import flite
from gptfl_tff.generators import speech
from gptfl_tff.prompting import prompts


def _prompt(params):
  return prompts.Prompt('000-000001', 7, 'seven', 'seven', 'speech',
                        dict(params, seed=5))


_FLITE = {'engine': 'flite', 'voice': 'kal16', 'wpm': 150, 'pitch': 40}
_ESPEAK = {'engine': 'espeak-ng', 'voice': 'en-us', 'variant': 'klatt',
           'wpm': 150, 'pitch': 40, 'amplitude': 80}


class SpeechTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(('flite', _FLITE), ('espeak', _ESPEAK))
  def test_record_is_speech_at_task_rate_and_reproducible(self, params):
    if not speech.SPEECH_ENGINES[params['engine']].is_available():
      self.skipTest(f"{params['engine']} not installed (tools/setup.sh)")
    a = speech.make_record(_prompt(params), sample_rate=8000)
    b = speech.make_record(_prompt(params), sample_rate=8000)
    self.assertEqual(a, b)
    self.assertEqual((a.sample_rate, a.label, a.label_name), (8000, 7, 'seven'))
    x = a.audio()
    self.assertBetween(len(x) / 8000, 0.2, 1.5)  # one word, silence trimmed
    self.assertGreater(np.abs(x).max(), 0.05)
    self.assertLess(np.abs(x).max(), 1.0)
    self.assertGreater(np.abs(x[:10]).max(), 0)  # trimmed + dithered
    self.assertEqual(a.params['engine'], params['engine'])
    self.assertIn('engine_version', a.params)

  def test_speaking_rate_changes_duration(self):
    if not flite.is_available():
      self.skipTest('flite not installed')
    slow = speech.make_record(_prompt(dict(_FLITE, wpm=100)), 8000).audio()
    fast = speech.make_record(_prompt(dict(_FLITE, wpm=180)), 8000).audio()
    self.assertGreater(len(slow), 1.4 * len(fast))

  def test_missing_voice_is_reported(self):
    if not espeak.is_available():
      self.skipTest('espeak-ng not installed')
    with self.assertRaisesRegex(ValueError, "variant 'no-such' is not"):
      speech.make_record(_prompt(dict(_ESPEAK, variant='no-such')), 8000)

  def test_installed_mix_drops_missing_voices(self):
    if not (espeak.is_available() and flite.is_available()):
      self.skipTest('engines not installed')
    mix = dataclasses.replace(
        prompts.VoiceMix(), flite_voices=('kal', 'nosuch'),
        espeak_variants=('klatt', 'mb-xx'))
    got = speech.installed_voice_mix(mix)
    self.assertEqual(got.flite_voices, ('kal',))
    self.assertEqual(got.espeak_variants, ('klatt',))

  def test_unknown_engine(self):
    with self.assertRaisesRegex(speech.EngineError, 'Unknown speech'):
      speech.speech_engine('say')


if __name__ == '__main__':
  tf.test.main()
