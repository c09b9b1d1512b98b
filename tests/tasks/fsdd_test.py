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
"""Tests for gptfl_tff.tasks.fsdd."""

import os

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from gptfl_tff import audio
from gptfl_tff.tasks import base
from gptfl_tff.tasks import fsdd
from tests import fixtures


class FsddTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self.root = self.create_tempdir().full_path
    fixtures.write_fsdd_folder(
        self.root, digits=range(3), speakers=('amy', 'ben'), indices=range(7)
    )
    self.folder = os.path.join(self.root, 'recordings')

  def test_folder_zip_and_tar_read_the_same(self):
    zip_path = fixtures.zip_folder(self.folder, self.root + '/fsdd.zip')
    tar_path = fixtures.tar_folder(self.folder, self.root + '/fsdd.tar.gz')
    results = [fsdd.read_recordings(s)
               for s in (self.folder, zip_path, tar_path)]
    for recs, waves, rates in results:
      self.assertLen(recs, 2 * 3 * 7)
      self.assertEqual(set(rates), {8000})
      self.assertEqual(recs[0], fsdd.Recording(0, 'amy', 0, '0_amy_0.wav'))
    for waves_a, waves_b in zip(results[0][1], results[1][1]):
      self.assertAllEqual(waves_a, waves_b)

  def test_split_by_index_follows_fsdd_convention(self):
    fs = fsdd.create_feature_set(self.folder)
    self.assertEqual(fs.features.shape, (42, 94, 128))
    train, test = fsdd.split_by_index(fs)
    self.assertLen(test, 2 * 3 * 5)
    self.assertLen(train, 2 * 3 * 2)
    self.assertEqual(set(test.indices.tolist()), {0, 1, 2, 3, 4})
    self.assertEqual(set(train.indices.tolist()), {5, 6})

  def test_split_by_speaker(self):
    fs = fsdd.create_feature_set(self.folder)
    train, test = fsdd.split_by_speaker(fs, ['ben'])
    self.assertEqual(set(test.speakers.tolist()), {'ben'})
    self.assertEqual(set(train.speakers.tolist()), {'amy'})
    with self.assertRaisesRegex(fsdd.DataError, "Unknown test speaker.*'zed'"):
      fsdd.split_by_speaker(fs, ['zed'])
    with self.assertRaisesRegex(fsdd.DataError, 'Every speaker'):
      fsdd.split_by_speaker(fs, ['amy', 'ben'])

  def test_feature_cache_is_reused(self):
    cache = self.create_tempdir().full_path
    first = fsdd.create_feature_set(self.folder, cache_dir=cache)
    self.assertLen(os.listdir(cache), 1)
    second = fsdd.create_feature_set(self.folder, cache_dir=cache)
    self.assertAllEqual(first.features, second.features)
    self.assertAllEqual(first.speakers, second.speakers)

  def test_task_splits_test_validation_and_train_by_take(self):
    fixtures.write_fsdd_folder(self.root, digits=range(3),
                               speakers=('amy', 'ben'), indices=range(7, 12))
    splits = fsdd.TASK.load(base.DataConfig(data_dir=self.folder))
    self.assertEqual(splits.train.features.shape[1:], (94, 128))
    self.assertLen(splits.test, 2 * 3 * 5)        # takes 0-4
    self.assertLen(splits.validation, 2 * 3 * 5)  # takes 5-9
    self.assertLen(splits.train, 2 * 3 * 2)       # takes 10-11
    self.assertEqual(set(splits.train.groups.tolist()), {'amy', 'ben'})
    held = fsdd.TASK.load(base.DataConfig(data_dir=self.folder,
                                          test_speakers=('ben',)))
    self.assertEqual(set(held.test.groups.tolist()), {'ben'})
    self.assertLen(held.test, 3 * 12)
    self.assertEqual(set(held.validation.groups.tolist()), {'amy'})
    self.assertLen(held.train, 3 * 7)  # amy's takes 0-4 and 10-11
    capped = fsdd.TASK.load(base.DataConfig(data_dir=self.folder,
                                            max_train_per_class=1))
    self.assertEqual(np.bincount(capped.train.labels).tolist(), [1, 1, 1])

  def test_too_few_takes_for_validation_says_so(self):
    with self.assertRaisesRegex(fsdd.DataError, 'no training or no valid'):
      fsdd.TASK.load(base.DataConfig(data_dir=self.folder))

  def test_env_var_is_the_fallback_source(self):
    os.environ[fsdd.DATA_DIR_ENV] = self.folder
    try:
      self.assertEqual(base.DataConfig().source('help'), self.folder)
    finally:
      del os.environ[fsdd.DATA_DIR_ENV]
    with self.assertRaisesRegex(fsdd.DataError, '--data_dir.*--use_tfds'):
      fsdd.TASK.load(base.DataConfig())

  def test_missing_folder_says_how_to_fix(self):
    with self.assertRaisesRegex(fsdd.DataError, 'not found.*--data_dir'):
      fsdd.read_recordings(self.root + '/nope')

  def test_empty_folder_is_an_error(self):
    empty = self.create_tempdir().full_path
    with self.assertRaisesRegex(fsdd.DataError, 'No FSDD WAV files'):
      fsdd.read_recordings(empty)

  def test_corrupt_wav_names_the_file(self):
    with open(os.path.join(self.folder, '1_amy_9.wav'), 'wb') as f:
      f.write(b'RIFF garbage')
    with self.assertRaisesRegex(audio.AudioError, '1_amy_9.wav'):
      fsdd.read_recordings(self.folder)

  def test_unexpected_rate_names_file_and_rate(self):
    with open(os.path.join(self.folder, '1_amy_9.wav'), 'wb') as f:
      f.write(fixtures.wav_bytes(np.zeros(100), rate=22050))
    with self.assertRaisesRegex(
        audio.AudioError, '1_amy_9.wav.*22050 Hz, expected 8000'
    ):
      fsdd.read_recordings(self.folder)

  def test_malformed_name_is_an_error(self):
    with open(os.path.join(self.folder, 'hello.wav'), 'wb') as f:
      f.write(fixtures.wav_bytes(np.zeros(100)))
    with self.assertRaisesRegex(fsdd.DataError, 'hello.wav.*{digit}'):
      fsdd.read_recordings(self.folder)

  def test_label_ids(self):
    self.assertEqual(fsdd.TASK.label_id('zero'), 0)
    self.assertEqual(fsdd.TASK.label_id('nine'), 9)
    with self.assertRaisesRegex(fsdd.DataError, "Unknown label 'ten'"):
      fsdd.TASK.label_id('ten')


if __name__ == '__main__':
  tf.test.main()
