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
"""Tests for gptfl_tff.tasks.speech_commands."""

import os

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from gptfl_tff import partition
from gptfl_tff.tasks import base
from gptfl_tff.tasks import speech_commands as sc
from tests import fixtures

# Four speakers: the lists put the third in validation and the fourth in
# test, as the release's speaker hash does.
SPEAKERS = ('0a1b2c3d', '1b2c3d4e', '2c3d4e5f', '3d4e5f60')
WORDS = ('backward', 'right', 'zero')


def write_release(root, speakers=SPEAKERS, words=WORDS, takes=range(2)):
  """Writes a tiny v0.02-layout release under `root/sc`; returns it."""
  folder = os.path.join(root, 'sc')
  for w, word in enumerate(words):
    os.makedirs(os.path.join(folder, word), exist_ok=True)
    for s, speaker in enumerate(speakers):
      for n in takes:
        # Clips shorter and longer than 1 s: the front end pads and crops.
        samples = fixtures.tone(w, s, n, rate=16000)
        if n % 2:
          samples = np.tile(samples, 4)
        with open(os.path.join(folder, word, f'{speaker}_nohash_{n}.wav'),
                  'wb') as f:
          f.write(fixtures.wav_bytes(samples, rate=16000))
  noise = os.path.join(folder, sc.BACKGROUND_NOISE)
  os.makedirs(noise, exist_ok=True)
  with open(os.path.join(noise, 'white_noise.wav'), 'wb') as f:
    f.write(fixtures.wav_bytes(0.1 * np.ones(32000), rate=16000))
  with open(os.path.join(noise, 'README.md'), 'w') as f:
    f.write('noise\n')
  for list_name, speaker in ((sc.VALIDATION_LIST, speakers[2]),
                             (sc.TESTING_LIST, speakers[3])):
    with open(os.path.join(folder, list_name), 'w') as f:
      for word in words:
        for n in takes:
          f.write(f'{word}/{speaker}_nohash_{n}.wav\n')
      # Trimmed copies lack some listed clips.
      f.write(f'yes/{speaker}_nohash_0.wav\n')
  return folder


class SpeechCommandsTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self.root = self.create_tempdir().full_path
    self.folder = write_release(self.root)

  def test_lists_give_validation_and_test(self):
    clip_set = sc.read_clips(self.folder)
    self.assertLen(clip_set, 4 * 3 * 2)  # background noise skipped
    self.assertEqual(clip_set.features.shape[1:], (94, 128))
    split_of = dict(zip(clip_set.keys.tolist(), clip_set.splits.tolist()))
    self.assertEqual(split_of['right/2c3d4e5f_nohash_1.wav'], sc.VALIDATION)
    self.assertEqual(split_of['zero/3d4e5f60_nohash_0.wav'], sc.TEST)
    self.assertEqual(split_of['zero/0a1b2c3d_nohash_0.wav'], sc.TRAIN)
    splits = sc.TASK.load(base.DataConfig(data_dir=self.folder))
    self.assertEqual(set(splits.validation.groups.tolist()), {SPEAKERS[2]})
    self.assertEqual(set(splits.test.groups.tolist()), {SPEAKERS[3]})
    self.assertEqual(set(splits.train.groups.tolist()), set(SPEAKERS[:2]))
    self.assertLen(splits.train, 2 * 3 * 2)
    self.assertLen(splits.validation, 3 * 2)
    self.assertLen(splits.test, 3 * 2)
    self.assertEqual(splits.train.features.shape[1:], (94, 128))

  def test_speakers_are_the_clients(self):
    splits = sc.TASK.load(base.DataConfig(data_dir=self.folder))
    self.assertEqual(sc.TASK.defaults.partition, base.Partition.NATURAL)
    clients = partition.natural(splits.train.groups)
    self.assertEqual(sorted(clients), list(SPEAKERS[:2]))
    for speaker, idx in clients.items():
      self.assertLen(idx, 3 * 2)
      self.assertEqual(set(splits.train.groups[idx].tolist()), {speaker})

  def test_label_ids_are_the_sorted_words(self):
    self.assertLen(sc.LABEL_NAMES, 35)
    self.assertEqual(list(sc.LABEL_NAMES), sorted(sc.LABEL_NAMES))
    self.assertEqual(sc.TASK.label_id('backward'), 0)
    self.assertEqual(sc.TASK.label_id('right'), 22)
    self.assertEqual(sc.TASK.label_id('zero'), 34)
    clip_set = sc.read_clips(self.folder)
    self.assertEqual(
        [sc.LABEL_NAMES[i] for i in clip_set.labels],
        [k.split('/')[0] for k in clip_set.keys])
    self.assertEqual(sc.TASK.create_model('keyword', seed=0).output_shape,
                     (None, 35))

  @parameterized.named_parameters(('zip', '.zip'), ('tar', '.tar.gz'))
  def test_archive_and_folder_give_the_same_data(self, suffix):
    archive = self.root + '/sc' + suffix
    if suffix == '.zip':
      fixtures.zip_folder(self.folder, archive)
    else:
      fixtures.tar_folder(self.folder, archive)
    from_folder = sc.read_clips(self.folder)
    from_archive = sc.read_clips(archive)
    for field in ('features', 'labels', 'speakers', 'keys', 'splits'):
      self.assertAllEqual(getattr(from_folder, field),
                          getattr(from_archive, field))

  def test_test_speakers_replace_the_testing_list(self):
    splits = sc.TASK.load(base.DataConfig(data_dir=self.folder,
                                          test_speakers=(SPEAKERS[0],)))
    self.assertEqual(set(splits.test.groups.tolist()), {SPEAKERS[0]})
    self.assertEqual(set(splits.validation.groups.tolist()), {SPEAKERS[2]})
    self.assertEqual(set(splits.train.groups.tolist()),
                     {SPEAKERS[1], SPEAKERS[3]})
    # Held-out speakers leave validation: here none is left.
    with self.assertRaisesRegex(sc.DataError, 'no training or no valid'):
      sc.TASK.load(base.DataConfig(data_dir=self.folder,
                                   test_speakers=(SPEAKERS[2],)))
    with self.assertRaisesRegex(sc.DataError, "Unknown test speaker.*'zed'"):
      sc.TASK.load(base.DataConfig(data_dir=self.folder,
                                   test_speakers=('zed',)))

  def test_cap_and_cache(self):
    capped = sc.TASK.load(base.DataConfig(data_dir=self.folder,
                                          max_train_per_class=1))
    self.assertEqual(np.bincount(capped.train.labels).tolist(),
                     [1] + [0] * 21 + [1] + [0] * 11 + [1])
    cache = self.create_tempdir().full_path
    first = sc.create_clip_set(self.folder, cache_dir=cache)
    self.assertLen(os.listdir(cache), 1)
    second = sc.create_clip_set(self.folder, cache_dir=cache)
    self.assertAllEqual(first.features, second.features)
    self.assertAllEqual(first.splits, second.splits)

  @parameterized.named_parameters(
      ('validation', sc.VALIDATION_LIST), ('testing', sc.TESTING_LIST))
  def test_missing_list_names_the_fix(self, list_name):
    os.remove(os.path.join(self.folder, list_name))
    with self.assertRaisesRegex(
        sc.DataError, f'No {list_name}.*at its root.*--data_dir'):
      sc.read_clips(self.folder)

  def test_unknown_word_folder_names_the_fix(self):
    os.makedirs(os.path.join(self.folder, 'hello'))
    with open(os.path.join(self.folder, 'hello', 'ab_nohash_0.wav'),
              'wb') as f:
      f.write(fixtures.wav_bytes(np.zeros(100), rate=16000))
    with self.assertRaisesRegex(
        sc.DataError, "unknown word folder 'hello'.*--data_dir"):
      sc.read_clips(self.folder)

  def test_malformed_clip_name_and_list_line(self):
    with open(os.path.join(self.folder, sc.TESTING_LIST), 'a') as f:
      f.write('right\n')
    with self.assertRaisesRegex(
        sc.DataError, 'testing_list.txt, line 8.*<word>/<file>.wav'):
      sc.read_clips(self.folder)
    with open(os.path.join(self.folder, 'right', 'take1.wav'), 'wb') as f:
      f.write(fixtures.wav_bytes(np.zeros(100), rate=16000))
    with self.assertRaisesRegex(sc.DataError,
                                'take1.wav.*<speaker>_nohash_<n>.wav'):
      sc.read_clips(self.folder)

  def test_missing_source_names_the_flag(self):
    with self.assertRaisesRegex(sc.DataError, 'not found.*--data_dir'):
      sc.read_clips(self.root + '/nope')
    with self.assertRaisesRegex(sc.DataError, 'No Speech Commands clips'):
      sc.read_clips(self.create_tempdir().full_path)
    saved = os.environ.pop(base.DATA_DIR_ENV, None)
    try:
      with self.assertRaisesRegex(sc.DataError,
                                  '--data_dir.*v0.02 release.*--use_tfds'):
        sc.TASK.load(base.DataConfig())
    finally:
      if saved is not None:
        os.environ[base.DATA_DIR_ENV] = saved


if __name__ == '__main__':
  tf.test.main()
