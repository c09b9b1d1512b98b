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
"""Tests for gptfl_tff.generators.keras_cv_diffusion.

KerasCV's StableDiffusionV2 comes at full size only (~1.3B parameters), so
the test builds it once with random weights (no download) at the smallest
size it allows, 128 px, and runs one denoising step per call on the CPU.
"""

import functools
import io
import os
from unittest import mock

import numpy as np
from PIL import Image
import tensorflow as tf

from keras_cv.src import backend as keras_cv_backend

from gptfl_tff.generators import keras_cv_diffusion
from gptfl_tff.generators import stable_diffusion
from gptfl_tff.prompting import prompts
from gptfl_tff.synthesis import generation
from tests import fixtures

_CONFIG = keras_cv_diffusion.KerasCVConfig(
    weights='random', steps=1, resolution=128, output_size=16, batch_size=2,
    jit_compile=False)


def _pixels(record):
  return np.asarray(Image.open(io.BytesIO(record.data)), np.float32)


class KerasCVDiffusionTest(tf.test.TestCase):

  @classmethod
  def tearDownClass(cls):
    # The full-size random model holds ~5 GB; free it for later tests.
    keras_cv_diffusion._MODELS.clear()  # pylint: disable=protected-access
    tf.keras.backend.clear_session()
    super().tearDownClass()

  def test_records_batches_and_seeds(self):
    ps = prompts.create_image_prompts(['airplane', 'cat'], 3, seed=0)
    records = keras_cv_diffusion.make_records(ps, _CONFIG)
    fixtures.assert_image_records(self, ps, records, 16,
                                  'keras-cv/StableDiffusionV2:random')
    # An image depends on its prompt and seed, not on its batch.
    alone = keras_cv_diffusion.make_records(ps[4:5], _CONFIG)[0]
    self.assertAllClose(_pixels(alone), _pixels(records[4]), atol=2.0)
    different = [np.abs(_pixels(records[i]) - _pixels(records[0])).max()
                 for i in range(1, len(records))]
    self.assertGreater(max(different), 0.0)

  def test_through_the_sharded_writer(self):
    ps = prompts.create_image_prompts(['frog'], 3, seed=2)
    out = self.create_tempdir().full_path
    result = generation.generate(
        ps, out, functools.partial(keras_cv_diffusion.make_records,
                                   config=_CONFIG),
        records_per_shard=2, batch_size=2, progress=False)
    self.assertEqual(result.manifest['counts_per_label'], {'frog': 3})

  def test_long_prompts_are_truncated_not_refused(self):
    model = keras_cv_diffusion.load_model(_CONFIG)
    tokens = keras_cv_diffusion._tokens(  # pylint: disable=protected-access
        model, ['x' * 300, 'a cat'])
    self.assertEqual(tokens.shape, (2, 77))
    self.assertEqual(tokens[0, -1], 49407)
    self.assertEqual(tokens[1, -1], 49407)

  def test_bad_config(self):
    with self.assertRaisesRegex(ValueError, 'multiple of 128'):
      keras_cv_diffusion.KerasCVConfig(resolution=500)
    with self.assertRaisesRegex(ValueError, 'weights must be one of'):
      keras_cv_diffusion.KerasCVConfig(weights='imagenet')
    with self.assertRaisesRegex(ValueError, 'No BPE vocabulary'):
      keras_cv_diffusion.KerasCVConfig(
          bpe_path=os.path.join(self.create_tempdir().full_path, 'no.gz'))

  def test_offline_pretrained_fails_clearly(self):
    config = keras_cv_diffusion.KerasCVConfig(
        bpe_path=keras_cv_diffusion.write_byte_bpe(os.path.join(
            self.create_tempdir().full_path, 'bpe.txt.gz')),
        resolution=128, jit_compile=False)
    # What KerasCV's download raises without network (never fetched here).
    offline = mock.patch.object(
        keras_cv_backend.keras.utils, 'get_file',
        side_effect=Exception('URL fetch failure: offline'))
    with offline, self.assertRaisesRegex(stable_diffusion.ModelLoadError,
                                         "offline.*weights='random'"):
      keras_cv_diffusion.load_model(config)


if __name__ == '__main__':
  tf.test.main()
