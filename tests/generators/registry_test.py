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
"""Tests for gptfl_tff.generators.registry: backends by name."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from gptfl_tff import tasks
from gptfl_tff.generators import registry
from gptfl_tff.prompting import prompts


class RegistryTest(tf.test.TestCase, parameterized.TestCase):

  def test_tiny_audioldm_makes_esc50_records_from_sound_prompts(self):
    task = tasks.get('esc50')
    config = registry.GeneratorConfig(
        backend=registry.Backend.TINY_AUDIOLDM, steps=2, audio_seconds=0.5,
        batch_size=2, records_per_shard=3)
    labels = ['dog', 'rain', 'siren']
    ps = task.create_prompts(labels, 1, seed=0, voice_mix=None)
    work_dir = self.create_tempdir().full_path
    records_fn, batch_size = registry.create_records_fn(
        config, task, work_dir, seed=0)
    self.assertEqual(batch_size, 3)
    records = records_fn(ps)
    self.assertEqual([r.label_name for r in records], labels)
    for r in records:
      self.assertEqual(r.sample_rate, task.sample_rate)
      self.assertLen(r.audio(), int(0.5 * task.sample_rate))
      self.assertTrue(np.isfinite(r.audio()).all())
    settings = registry.settings(config, task, ps)
    self.assertEqual(settings['audio_seconds'], 0.5)
    self.assertEqual(settings['sample_rate'], task.sample_rate)

  def test_speech_settings_name_only_the_engines_of_the_prompts(self):
    task = tasks.get('fsdd')
    mix = prompts.VoiceMix(groups=(('flite', 1.0),))
    ps = prompts.create_speech_prompts(['one', 'two'], 3, 0, mix)
    settings = registry.settings(registry.GeneratorConfig(), task, ps)
    self.assertEqual(list(settings['engines']), ['flite'])
    # On by default, named by what decides it.
    self.assertStartsWith(settings['asr_filter'], 'pocketsphinx ')
    self.assertFalse(registry.settings(
        registry.GeneratorConfig(asr_filter=False), task, ps)['asr_filter'])
    # Image backends ignore the filter: it shapes nothing they make.
    self.assertNotIn('asr_filter', registry.settings(
        registry.GeneratorConfig(backend=registry.Backend.TINY_DIFFUSERS),
        tasks.get('cifar10')))

  @parameterized.named_parameters(
      ('speech_for_images', dict(), 'image',
       '--gen_backend=speech takes speech prompts'),
      ('speech_for_sounds', dict(), 'sound', r"one of \['audioldm'"),
      ('sounds_for_speech', dict(backend=registry.Backend.AUDIOLDM),
       'speech', r"one of \['speech'\]"),
  )
  def test_misfits_name_the_flag(self, kwargs, modality, message):
    with self.assertRaisesRegex(registry.GeneratorError, message):
      registry.check(registry.GeneratorConfig(**kwargs), modality)


if __name__ == '__main__':
  tf.test.main()
