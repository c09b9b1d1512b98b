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
"""Tests for gptfl_tff.generators.audioldm on a tiny random pipeline.

The pipeline is built from tiny configs with random weights and saved, then
loaded through the same `from_pretrained` path users take with
`cvssp/audioldm`.
"""

import functools
import dataclasses
import os
import tempfile

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from gptfl_tff.generators import audioldm
from gptfl_tff.generators import tiny_audioldm
from gptfl_tff.prompting import prompts
from gptfl_tff.synthesis import generation

_LSB = 1.0 / 32767.0


def _prompts(labels, seeds):
  return [prompts.Prompt(f'{k:03d}-{k:06d}', k, label,
                         f'the sound of a {label}', 'audio', {'seed': seed})
          for k, (label, seed) in enumerate(zip(labels, seeds))]


class AudioLDMTest(tf.test.TestCase, parameterized.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.model_dir = tiny_audioldm.create_tiny_audioldm(
        os.path.join(tempfile.mkdtemp(), 'tiny_audioldm'))

  def _config(self, **kwargs):
    return audioldm.AudioLDMConfig(**dict(
        dict(model=self.model_dir, steps=2, audio_seconds=0.5,
             sample_rate=8000, device='cpu', local_files_only=True),
        **kwargs))

  def test_records_are_task_rate_clips_with_their_params(self):
    ps = _prompts(['dog', 'rain', 'siren'], [1, 2, 3])
    records = audioldm.make_records(ps, self._config(batch_size=2))
    self.assertEqual([r.id for r in records], [p.id for p in ps])
    for p, r in zip(ps, records):
      self.assertEqual((r.kind, r.sample_rate, r.label, r.label_name),
                       ('audio', 8000, p.label_id, p.label))
      x = r.audio()
      self.assertLen(x, 4000)  # 0.5 s at 8 kHz.
      self.assertTrue(np.all(np.isfinite(x)))
      self.assertGreater(np.abs(x).max(), 10 * _LSB)
      self.assertEqual(r.params, dict(
          seed=p.params['seed'], model_id=self.model_dir, steps=2,
          audio_seconds=0.5, guidance_scale=2.5,
          source_rate=tiny_audioldm.SAMPLE_RATE, prompt_text=p.text))

  def test_a_prompt_s_own_guidance_scale_is_used(self):
    plain = _prompts(['dog', 'rain'], [7, 8])
    drawn = [dataclasses.replace(p, params=dict(p.params, guidance_scale=g))
             for p, g in zip(plain, (1.0, 4.0))]
    records = audioldm.make_records(drawn, self._config())
    self.assertEqual([r.id for r in records], [p.id for p in drawn])
    self.assertEqual([r.params['guidance_scale'] for r in records],
                     [1.0, 4.0])
    # The same as generating each alone at its scale with the flag.
    for p, r, g in zip(plain, records, (1.0, 4.0)):
      alone = audioldm.make_records([p], self._config(guidance_scale=g))[0]
      self.assertAllClose(r.audio(), alone.audio(), atol=4 * _LSB)

  def test_clip_depends_on_its_seed_not_its_batch(self):
    ps = _prompts(['dog', 'dog', 'rain'], [7, 8, 7])
    together = [r.audio() for r in audioldm.make_records(ps, self._config())]
    alone = audioldm.make_records(ps[1:2], self._config())[0].audio()
    again = audioldm.make_records(ps[1:2], self._config())[0].audio()
    self.assertAllEqual(alone, again)
    # Up to floating-point batching effects.
    self.assertAllClose(alone, together[1], atol=4 * _LSB, rtol=0)
    self.assertGreater(np.abs(together[0] - together[1]).max(), 10 * _LSB)
    self.assertGreater(np.abs(together[0] - together[2]).max(), 10 * _LSB)

  def test_settings_reach_the_pipeline(self):
    ps = _prompts(['dog'], [4])
    base = audioldm.make_records(ps, self._config())[0].audio()
    for change in ({'steps': 3}, {'guidance_scale': 1.0}):
      other = audioldm.make_records(ps, self._config(**change))[0].audio()
      self.assertGreater(np.abs(base - other).max(), 10 * _LSB, change)
    longer = audioldm.make_records(ps, self._config(audio_seconds=0.8))
    self.assertLen(longer[0].audio(), 6400)

  def test_through_the_sharded_writer(self):
    ps = _prompts(['dog', 'rain', 'dog'], [1, 2, 3])
    out = self.create_tempdir().full_path
    result = generation.generate(
        ps, out, functools.partial(
            audioldm.make_records, config=self._config()),
        records_per_shard=2, batch_size=2, progress=False)
    self.assertEqual(result.manifest['counts_per_label'],
                     {'dog': 2, 'rain': 1})
    self.assertEqual(result.manifest['records_per_engine'],
                     {self.model_dir: 3})

  def test_offline_missing_model_fails_clearly(self):
    with self.assertRaisesRegex(audioldm.ModelLoadError,
                                'No saved pipeline folder.*save_pretrained'):
      audioldm.load_pipeline(audioldm.AudioLDMConfig(
          model=os.path.join(self.create_tempdir().full_path, 'missing'),
          local_files_only=True))
    with self.assertRaisesRegex(audioldm.ModelLoadError,
                                'Could not load.*local_files_only'):
      audioldm.load_pipeline(audioldm.AudioLDMConfig(
          model='nobody/no-such-model', local_files_only=True))

  @parameterized.named_parameters(
      ('steps', {'steps': 0}, '--gen_steps'),
      ('seconds', {'audio_seconds': 0.0}, '--gen_audio_seconds'),
      ('nan_seconds', {'audio_seconds': float('nan')}, '--gen_audio_seconds'),
      ('guidance', {'guidance_scale': 0.5}, '--gen_guidance'),
      ('batch_size', {'batch_size': 0}, '--gen_batch_size'),
      ('sample_rate', {'sample_rate': 0}, 'sample_rate'),
  )
  def test_bad_config_names_the_flag(self, change, flag):
    with self.assertRaisesRegex(ValueError, flag):
      audioldm.AudioLDMConfig(**change)


if __name__ == '__main__':
  tf.test.main()
