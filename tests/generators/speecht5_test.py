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
"""Tests for gptfl_tff.generators.speecht5 on a tiny random model.

The model and vocoder are built from tiny configs with random weights and
saved, then loaded through the same `from_pretrained` path users take with
`microsoft/speecht5_tts`.
"""

import os
import tempfile
from unittest import mock

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from gptfl_tff.generators import speech
from gptfl_tff.generators import speecht5
from gptfl_tff.generators import tiny_speecht5
from gptfl_tff.prompting import prompts


def _unit_rows(n, dim, seed):
  x = np.random.default_rng(seed).standard_normal((n, dim))
  return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


class SpeechT5Test(tf.test.TestCase, parameterized.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    tmp = tempfile.mkdtemp()
    cls.model_dir, cls.vocoder_dir = tiny_speecht5.create_tiny_speecht5(
        os.path.join(tmp, 'tiny_speecht5'))
    cls.xvectors = os.path.join(tmp, 'xvectors.npy')
    np.save(cls.xvectors, _unit_rows(3, 512, seed=0))

  def _params(self, **kwargs):
    return dict({'engine': 'speecht5', 'model': self.model_dir,
                 'vocoder': self.vocoder_dir, 'xvectors': self.xvectors,
                 'speaker': 0, 'seed': 5, 'local_files_only': True,
                 'device': 'cpu'}, **kwargs)

  def _speak(self, **kwargs):
    params = self._params(**kwargs)
    speecht5.check(params)
    return speecht5.synthesize('go', params)

  def test_speaks_finite_float32_at_the_vocoder_rate(self):
    self.assertTrue(speecht5.is_available())
    self.assertStartsWith(speecht5.version(), 'transformers-')
    samples, rate = self._speak()
    self.assertEqual(rate, tiny_speecht5.SAMPLE_RATE)
    self.assertEqual(samples.dtype, np.float32)
    self.assertEqual(samples.ndim, 1)
    # 4 tokens ('▁', 'g', 'o', '</s>') x 20 frames x 256 samples a frame.
    self.assertLen(samples, 4 * 20 * 256)
    self.assertTrue(np.all(np.isfinite(samples)))
    self.assertGreater(np.abs(samples).max(), 1e-3)

  def test_same_params_same_samples_and_seed_matters(self):
    a, _ = self._speak()
    b, _ = self._speak()
    self.assertAllEqual(a, b)
    c, _ = self._speak(seed=6)
    self.assertGreater(np.abs(a - c).max(), 1e-4)

  def test_speaker_xvector_changes_samples(self):
    a, _ = self._speak(speaker=0)
    b, _ = self._speak(speaker=1)
    self.assertGreater(np.abs(a - b).max(), 1e-4)

  def test_speaker_vectors(self):
    rows = np.load(self.xvectors)
    self.assertAllEqual(speecht5.speaker_vector(self._params(speaker=2)),
                        rows[2])
    # No speaker: drawn from the seed, reproducibly.
    drawn = speecht5.speaker_vector(self._params(speaker=None, seed=11))
    self.assertIn(drawn.tolist(), rows.tolist())
    self.assertAllEqual(
        drawn, speecht5.speaker_vector(self._params(speaker=None, seed=11)))
    # Fallback without x-vectors: a unit vector per speaker index.
    a = speecht5.speaker_vector(self._params(xvectors=None, speaker=3))
    b = speecht5.speaker_vector(self._params(xvectors=None, speaker=3,
                                             seed=9))
    c = speecht5.speaker_vector(self._params(xvectors=None, speaker=4))
    self.assertEqual(a.shape, (512,))
    self.assertNear(np.linalg.norm(a), 1.0, 1e-5)
    self.assertAllEqual(a, b)
    self.assertNotAllClose(a, c)

  def test_folder_of_xvectors_reads_like_the_stacked_file(self):
    folder = self.create_tempdir().full_path
    rows = np.load(self.xvectors)
    for k, row in enumerate(rows):  # One [1, 512] file a speaker.
      np.save(os.path.join(folder, f'spk{k:02d}.npy'), row[None])
    self.assertAllEqual(speecht5.load_xvectors(folder), rows)
    self.assertAllEqual(
        speecht5.speaker_vector(self._params(xvectors=folder, speaker=1)),
        rows[1])

  def test_record_through_the_speech_engine_interface(self):
    prompt = prompts.Prompt('000-000001', 7, 'go', 'go', 'speech',
                            self._params())
    with mock.patch.dict(speech.SPEECH_ENGINES,
                         {speecht5.NAME: speecht5}):
      record = speech.make_record(prompt, sample_rate=8000)
    self.assertEqual((record.sample_rate, record.label), (8000, 7))
    self.assertBetween(len(record.audio()), 1000, 4 * 20 * 256 // 2 + 1)
    self.assertEqual(record.params['engine_version'], speecht5.version())

  @parameterized.named_parameters(
      ('speaker_out_of_range', {'speaker': 3}, r"\['speaker'\]=3 is out"),
      ('speaker_not_int', {'speaker': 1.5}, r"\['speaker'\] must be an int"),
      ('negative_speaker', {'speaker': -1}, r"\['speaker'\] must be an int"),
      ('missing_xvectors', {'xvectors': '/no/such.npy'},
       r'--gen_xvectors=/no/such.npy: no such file'),
      ('missing_model', {'model': '/no/such/model'},
       r'--gen_speecht5_model=/no/such/model: no such file'),
      ('missing_vocoder', {'vocoder': '/no/such/vocoder'},
       r'--gen_speecht5_vocoder=/no/such/vocoder: no such file'),
      ('unknown_hub_model', {'model': 'nobody/no-such-model'},
       r"Could not load.*params\['model'\]"),
  )
  def test_bad_params_name_the_param(self, change, message):
    with self.assertRaisesRegex(speecht5.SpeechT5Error, message):
      self._speak(**change)

  @parameterized.named_parameters(
      ('wrong_width', (3, 256), 'are 256-d but the model takes 512-d'),
      ('not_a_matrix', (512,), r'shape \[n, 512\].*got shape \[512\]'),
  )
  def test_bad_xvector_file(self, shape, message):
    path = os.path.join(self.create_tempdir().full_path, 'x.npy')
    np.save(path, np.ones(shape, np.float32))
    with self.assertRaisesRegex(speecht5.SpeechT5Error, message):
      self._speak(xvectors=path)


if __name__ == '__main__':
  tf.test.main()
