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
"""Tests for gptfl_tff.synthesis.synthetic_records."""

import os

import numpy as np
import tensorflow as tf

from gptfl_tff.synthesis import synthetic_records


def _audio(i):
  return synthetic_records.SyntheticRecord.from_audio(
      f'a{i}', i % 3, ['zero', 'one', 'двa'][i % 3],
      np.sin(np.arange(100) * (i + 1) / 10.0) * 0.5, 8000,
      {'engine': 'flite', 'seed': i})


class SyntheticRecordsTest(tf.test.TestCase):

  def test_audio_round_trip(self):
    folder = self.create_tempdir().full_path
    records = [_audio(i) for i in range(5)]
    path = os.path.join(folder, synthetic_records.shard_name('synthetic', 0, 1))
    self.assertEqual(synthetic_records.write_shard(path, records), 5)
    self.assertEqual(synthetic_records.list_shards(folder), [path])
    back = list(synthetic_records.read_records([path]))
    self.assertEqual(back, records)
    self.assertAllClose(back[1].audio(),
                        np.sin(np.arange(100) * 2 / 10.0) * 0.5, atol=1e-4)

  def test_image_round_trip_and_tf_parser(self):
    png = tf.io.encode_png(tf.zeros([4, 4, 3], tf.uint8)).numpy()
    record = synthetic_records.SyntheticRecord(
        'i0', 7, 'cat', synthetic_records.KIND_IMAGE, png, 0,
        {'guidance_scale': 3, 'model_id': 'sd'})
    path = os.path.join(self.create_tempdir().full_path,
                        's-00000-of-00001.tfrecord')
    synthetic_records.write_shard(path, [record])
    parsed = next(iter(synthetic_records.create_dataset([path])))
    self.assertEqual(int(parsed['label']), 7)
    self.assertEqual(tf.io.decode_png(parsed['data']).shape, (4, 4, 3))
    self.assertEqual(list(synthetic_records.read_records([path])), [record])

  def test_from_image_resizes_to_task_size_png(self):
    # A left-black, right-white 64x64 image, from an array and from PIL.
    pixels = np.zeros([64, 64, 3], np.uint8)
    pixels[:, 32:] = 255
    record = synthetic_records.SyntheticRecord.from_image(
        'i1', 2, 'bird', pixels, 8, {'seed': 5})
    self.assertEqual(record.kind, synthetic_records.KIND_IMAGE)
    self.assertEqual(record.params, {'seed': 5})
    small = tf.io.decode_png(record.data).numpy()
    self.assertEqual(small.shape, (8, 8, 3))
    self.assertAllEqual(small[:, 0], np.zeros([8, 3]))
    self.assertAllEqual(small[:, -1], np.full([8, 3], 255))
    from PIL import Image  # pylint: disable=g-import-not-at-top
    again = synthetic_records.SyntheticRecord.from_image(
        'i1', 2, 'bird', Image.fromarray(pixels), 8, {'seed': 5})
    self.assertEqual(again, record)

  def test_shard_names_and_errors(self):
    self.assertEqual(synthetic_records.shard_name('synthetic', 3, 12),
                     'synthetic-00003-of-00012.tfrecord')
    with self.assertRaisesRegex(synthetic_records.RecordError, 'unknown kind'):
      synthetic_records.serialize(synthetic_records.SyntheticRecord(
          'x', 0, 'a', 'video', b''))
    with self.assertRaisesRegex(synthetic_records.RecordError, 'sample rate'):
      synthetic_records.serialize(synthetic_records.SyntheticRecord(
          'x', 0, 'a', 'audio', b''))
    empty = self.create_tempdir().full_path
    with self.assertRaisesRegex(synthetic_records.RecordError, 'No synthetic-'):
      synthetic_records.list_shards(empty)
    with self.assertRaisesRegex(synthetic_records.RecordError,
                                'generation step'):
      synthetic_records.list_shards(empty + '/missing')

  def test_failed_write_leaves_nothing(self):
    folder = self.create_tempdir().full_path
    path = os.path.join(folder, 'synthetic-00000-of-00001.tfrecord')

    def records():
      yield _audio(0)
      raise RuntimeError('killed')

    with self.assertRaisesRegex(RuntimeError, 'killed'):
      synthetic_records.write_shard(path, records())
    self.assertEqual(os.listdir(folder), [])


if __name__ == '__main__':
  tf.test.main()
