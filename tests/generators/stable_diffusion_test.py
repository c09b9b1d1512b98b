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
"""Tests for gptfl_tff.generators.stable_diffusion on a tiny random pipeline.

The pipeline is built from tiny configs with random weights and saved, then
loaded through the same `from_pretrained` path users take with SD 2.1.
"""

import functools
import os
import tempfile
import types
from unittest import mock

from PIL import Image
import tensorflow as tf

from gptfl_tff.generators import stable_diffusion
from gptfl_tff.generators import tiny_diffusion
from gptfl_tff.prompting import prompts
from gptfl_tff.synthesis import generation
from tests import fixtures


class StableDiffusionTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.model_dir = tiny_diffusion.create_tiny_pipeline(
        os.path.join(tempfile.mkdtemp(), 'tiny_sd'))

  def _config(self, **kwargs):
    return stable_diffusion.DiffusionConfig(
        model=self.model_dir, steps=2, resolution=32, output_size=16,
        local_files_only=True, **kwargs)

  def test_records_are_task_size_pngs_with_their_params(self):
    ps = prompts.create_image_prompts(['airplane', 'cat'], 3, seed=0)
    records = stable_diffusion.make_records(ps, self._config())
    fixtures.assert_image_records(self, ps, records, 16, self.model_dir)

  def test_calls_are_full_batches_of_one_guidance_scale(self):
    calls = []

    def fake_pipe(prompt, guidance_scale, generator, **kwargs):
      del kwargs
      self.assertLen(generator, len(prompt))
      calls.append((guidance_scale, len(prompt)))
      return types.SimpleNamespace(
          images=[Image.new('RGB', (32, 32))] * len(prompt))

    ps = prompts.create_image_prompts(['cat', 'dog'], 20, seed=3)
    per_scale = {}
    for p in ps:
      scale = p.params['guidance_scale']
      per_scale[scale] = per_scale.get(scale, 0) + 1
    with mock.patch.object(stable_diffusion, 'load_pipeline',
                           return_value=fake_pipe):
      records = stable_diffusion.make_records(
          ps, self._config(batch_size=4, device='cpu'))
    self.assertEqual([r.id for r in records], [p.id for p in ps])
    expected = []
    for scale, n in sorted(per_scale.items()):
      expected += [(float(scale), 4)] * (n // 4)
      expected += [(float(scale), n % 4)] if n % 4 else []
    self.assertEqual(calls, expected)

  def test_image_depends_on_its_seed_not_its_batch(self):
    ps = prompts.create_image_prompts(['ship'], 4, seed=1)
    together = stable_diffusion.make_records(ps, self._config())
    alone = stable_diffusion.make_records(ps[2:3], self._config())
    self.assertEqual(alone[0].data, together[2].data)
    self.assertNotEqual(together[0].data, together[1].data)

  def test_through_the_sharded_writer(self):
    ps = prompts.create_image_prompts(['frog', 'truck'], 3, seed=2)
    out = self.create_tempdir().full_path
    result = generation.generate(
        ps, out, functools.partial(
            stable_diffusion.make_records, config=self._config()),
        records_per_shard=4, batch_size=2, progress=False)
    self.assertEqual(result.manifest['counts_per_label'],
                     {'frog': 3, 'truck': 3})
    self.assertEqual(result.manifest['records_per_engine'],
                     {self.model_dir: 6})

  def test_offline_missing_model_fails_clearly(self):
    with self.assertRaisesRegex(stable_diffusion.ModelLoadError,
                                'No saved pipeline folder.*save_pretrained'):
      stable_diffusion.load_pipeline(stable_diffusion.DiffusionConfig(
          model=os.path.join(self.create_tempdir().full_path, 'missing'),
          local_files_only=True))
    with self.assertRaisesRegex(stable_diffusion.ModelLoadError,
                                'Could not load.*local_files_only'):
      stable_diffusion.load_pipeline(stable_diffusion.DiffusionConfig(
          model='nobody/no-such-model', local_files_only=True))

  def test_bad_config(self):
    with self.assertRaisesRegex(ValueError, 'multiple of 8'):
      stable_diffusion.DiffusionConfig(resolution=30)
    with self.assertRaisesRegex(ValueError, 'batch_size >= 1'):
      stable_diffusion.DiffusionConfig(batch_size=0)


if __name__ == '__main__':
  tf.test.main()
