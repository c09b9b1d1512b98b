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
"""Tests for gptfl_tff.tasks.esc50."""

import os

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from gptfl_tff import partition
from gptfl_tff.tasks import base
from gptfl_tff.tasks import esc50
from tests import fixtures

TARGETS = (0, 14, 49)  # dog, chirping_birds, hand_saw
HEADER = 'filename,fold,target,category,esc10,src_file,take\n'


def write_release(root, targets=TARGETS, per_fold=2, rate=44100):
  """Writes a tiny ESC-50 layout under `root/ESC-50-master`; returns it."""
  folder = os.path.join(root, 'ESC-50-master')
  os.makedirs(os.path.join(folder, 'audio'))
  os.makedirs(os.path.join(folder, 'meta'))
  rows = []
  for fold in range(1, 6):
    for target in targets:
      for k in range(per_fold):
        src = 100000 + 10 * target + k
        name = f'{fold}-{src}-A-{target}.wav'
        with open(os.path.join(folder, 'audio', name), 'wb') as f:
          f.write(fixtures.wav_bytes(
              fixtures.tone(target % 10, fold, k, rate)[:rate // 5], rate))
        rows.append(f'{name},{fold},{target},{esc50.LABEL_NAMES[target]},'
                    f'False,{src},A\n')
  with open(os.path.join(folder, 'meta', 'esc50.csv'), 'w') as f:
    f.write(HEADER + ''.join(rows))
  return folder


class Esc50Test(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self.root = self.create_tempdir().full_path
    self.folder = write_release(self.root)
    self.csv = os.path.join(self.folder, 'meta', 'esc50.csv')

  def test_folds_give_train_validation_and_test(self):
    clip_set = esc50.read_clips(self.folder, esc50.TASK.frontend)
    self.assertEqual(clip_set.features.shape, (30, 247, 128))
    train, val, test = esc50.split_by_fold(clip_set)
    self.assertEqual(set(test.folds.tolist()), {5})
    self.assertEqual(set(val.folds.tolist()), {4})
    self.assertEqual(set(train.folds.tolist()), {1, 2, 3})
    splits = esc50.TASK.load(base.DataConfig(data_dir=self.folder))
    self.assertEqual(splits.train.features.shape[1:], (247, 128))
    self.assertLen(splits.train, 3 * 3 * 2)
    self.assertLen(splits.validation, 3 * 2)
    self.assertLen(splits.test, 3 * 2)
    self.assertEqual(set(splits.train.groups.tolist()), {''})
    other = esc50.Esc50Task(esc50.TASK.frontend, test_fold=1,
                            validation_fold=2)
    self.assertEqual(
        set(esc50.split_by_fold(clip_set, other.test_fold,
                                other.validation_fold)[2].folds.tolist()),
        {1})

  def test_label_ids_are_the_targets(self):
    self.assertLen(esc50.LABEL_NAMES, 50)
    self.assertEqual(esc50.TASK.label_id('dog'), 0)
    self.assertEqual(esc50.TASK.label_id('chirping_birds'), 14)
    self.assertEqual(esc50.TASK.label_id('hand_saw'), 49)
    clip_set = esc50.read_clips(self.folder, esc50.TASK.frontend)
    self.assertEqual(clip_set.labels.tolist(),
                     [int(f[:-4].split('-')[-1]) for f in clip_set.filenames])
    self.assertEqual(sorted(set(clip_set.labels.tolist())), list(TARGETS))

  def test_dirichlet_clients(self):
    d = esc50.TASK.defaults
    self.assertEqual((d.partition, d.num_clients, d.dirichlet_alpha),
                     (base.Partition.DIRICHLET, 100, 0.1))
    splits = esc50.TASK.load(base.DataConfig(data_dir=self.folder))
    clients = partition.dirichlet(splits.train.labels, 3, d.dirichlet_alpha,
                                  min_examples=1, seed=0)
    self.assertCountEqual(np.concatenate(list(clients.values())).tolist(),
                          range(len(splits.train)))
    with self.assertRaisesRegex(base.DataError, 'no speakers.*test_speakers'):
      esc50.TASK.load(base.DataConfig(data_dir=self.folder,
                                      test_speakers=('a',)))

  @parameterized.parameters(0, 1, 2)
  def test_paper_partition_of_the_full_training_folds(self, seed):
    # Folds 1-3 of the release: 24 clips of each of the 50 classes.
    labels = np.repeat(np.arange(50), 24)
    d = esc50.TASK.defaults
    clients = partition.dirichlet(labels, d.num_clients, d.dirichlet_alpha,
                                  esc50.MIN_CLIENT_EXAMPLES, seed)
    self.assertLen(clients, 100)
    hist = partition.label_histograms(clients, labels, 50)
    self.assertGreaterEqual(hist.sum(1).min(), esc50.MIN_CLIENT_EXAMPLES)
    self.assertLess(np.mean((hist > 0).sum(1)), 10)  # label skew

  @parameterized.named_parameters(('zip', '.zip'), ('tar', '.tar.gz'))
  def test_archive_and_folder_give_the_same_data(self, suffix):
    archive = self.root + '/esc50' + suffix
    if suffix == '.zip':
      fixtures.zip_folder(self.folder, archive)
    else:
      fixtures.tar_folder(self.folder, archive)
    from_folder = esc50.read_clips(self.folder, esc50.TASK.frontend)
    from_archive = esc50.read_clips(archive, esc50.TASK.frontend)
    for field in ('features', 'labels', 'folds', 'filenames'):
      self.assertAllEqual(getattr(from_folder, field),
                          getattr(from_archive, field))

  def test_cache_is_reused(self):
    cache = self.create_tempdir().full_path
    first = esc50.create_clip_set(self.folder, esc50.TASK.frontend, cache)
    self.assertLen(os.listdir(cache), 1)
    second = esc50.create_clip_set(self.folder, esc50.TASK.frontend, cache)
    self.assertAllEqual(first.features, second.features)
    self.assertAllEqual(first.folds, second.folds)

  def test_missing_metadata_names_the_fix(self):
    os.remove(self.csv)
    with self.assertRaisesRegex(
        esc50.DataError, 'No meta/esc50.csv.*--data_dir'):
      esc50.TASK.load(base.DataConfig(data_dir=self.folder))
    with self.assertRaisesRegex(esc50.DataError, 'not found.*--data_dir'):
      esc50.TASK.load(base.DataConfig(data_dir=self.root + '/nope'))
    with self.assertRaisesRegex(esc50.DataError, 'not in TFDS.*--data_dir'):
      esc50.TASK.load(base.DataConfig(use_tfds=True))

  @parameterized.named_parameters(
      ('no_target_column', lambda t: t.replace(',target,', ',label,', 1),
       r"no column\(s\) \['target'\]"),
      ('wrong_category', lambda t: t.replace(',0,dog,', ',0,cat,', 1),
       "line 2: target 0 is 'dog' in ESC-50, not 'cat'"),
      ('bad_fold', lambda t: t.replace('-A-0.wav,1,', '-A-0.wav,6,', 1),
       'line 2: fold 6 is not 1-5'),
      ('unlisted_clip', lambda t: t.replace('1-100000-A-0.wav', 'x.wav', 1),
       '1-100000-A-0.wav: not listed in meta/esc50.csv'),
      ('missing_clip', lambda t: t + '1-9-A-0.wav,1,0,dog,True,9,A\n',
       r"not in audio/ of .*\['1-9-A-0.wav'\]"),
  )
  def test_malformed_metadata_names_the_fix(self, edit, message):
    with open(self.csv) as f:
      text = f.read()
    with open(self.csv, 'w') as f:
      f.write(edit(text))
    with self.assertRaisesRegex(esc50.DataError, message):
      esc50.TASK.load(base.DataConfig(data_dir=self.folder))

  def test_prompts_describe_sounds(self):
    prompts = esc50.TASK.create_prompts(['sea_waves', 'dog'], 10, seed=0,
                                        voice_mix=None)
    again = esc50.TASK.create_prompts(['sea_waves', 'dog'], 10, seed=0,
                                      voice_mix=None)
    self.assertEqual(prompts, again)
    self.assertLen(prompts, 20)
    self.assertEqual({p.kind for p in prompts}, {esc50.PROMPT_KIND})
    self.assertEqual([p.label_id for p in prompts], [11] * 10 + [0] * 10)
    texts = {p.text for p in prompts[:10]}
    self.assertIn('a sound of sea waves', texts)
    self.assertIn('sea waves in an office', texts)
    self.assertLen(texts, len(esc50.SOUND_TEMPLATES))
    self.assertTrue(all(1 <= p.params['guidance_scale'] <= 5
                        for p in prompts))


if __name__ == '__main__':
  tf.test.main()
