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
"""Tests for gptfl_tff.stages: the one rule for reusing a stage's output."""

import dataclasses
import enum
import os

from absl.testing import parameterized
import tensorflow as tf

from gptfl_tff import stages


class Color(enum.Enum):
  RED = 'red'


@dataclasses.dataclass(frozen=True)
class Inner:
  rate: float = 0.1
  color: Color = Color.RED


@dataclasses.dataclass(frozen=True)
class Outer:
  inner: Inner = Inner()
  names: tuple[str, ...] = ('a', 'b')


class StagesTest(tf.test.TestCase, parameterized.TestCase):

  def test_settings_of_flattens_nested_dataclasses(self):
    self.assertEqual(stages.settings_of(Outer()), {
        'inner.rate': 0.1, 'inner.color': 'red', 'names': ['a', 'b']})

  def test_new_then_resume_then_done(self):
    folder = os.path.join(self.create_tempdir().full_path, 'pretrain')
    settings = {'epochs': 3}
    self.assertEqual(stages.begin(folder, 'pretrain', settings),
                     stages.Status.NEW)
    self.assertEqual(stages.begin(folder, 'pretrain', settings),
                     stages.Status.RESUME)
    stages.finish(folder)
    self.assertEqual(stages.begin(folder, 'pretrain', settings),
                     stages.Status.DONE)

  def test_other_settings_are_refused_naming_each_change(self):
    folder = self.create_tempdir().full_path
    stages.begin(folder, 'pretrain', {'epochs': 3, 'lr': 0.1, 'seed': 0})
    with open(os.path.join(folder, 'work.txt'), 'w') as f:
      f.write('kept')
    with self.assertRaisesRegex(
        stages.StageError,
        r"epochs: 3 -> 4; lr: 0\.1 -> \(unset\).*--experiment_name.*"
        r'--redo_from=pretrain'):
      stages.begin(folder, 'pretrain', {'epochs': 4, 'seed': 0})
    # Refusing touches nothing.
    self.assertTrue(os.path.exists(os.path.join(folder, 'work.txt')))
    self.assertEqual(stages.read(folder)['settings']['epochs'], 3)

  def test_redo_clears_the_folder_and_records_new_settings(self):
    folder = self.create_tempdir().full_path
    stages.begin(folder, 'pretrain', {'epochs': 3})
    stages.finish(folder)
    with open(os.path.join(folder, 'old.txt'), 'w') as f:
      f.write('old')
    status = stages.begin(folder, 'pretrain', {'epochs': 4}, redo=True)
    self.assertEqual(status, stages.Status.NEW)
    self.assertEqual(os.listdir(folder), [stages.RECORD])
    self.assertFalse(stages.read(folder)['complete'])

  def test_unrecorded_files_are_not_reused(self):
    folder = self.create_tempdir().full_path
    os.makedirs(os.path.join(folder, 'checkpoints'))
    with open(os.path.join(folder, 'pretrained.keras'), 'w') as f:
      f.write('from an unknown run')
    self.assertEqual(stages.begin(folder, 'pretrain', {'epochs': 3}),
                     stages.Status.NEW)
    self.assertEqual(os.listdir(folder), [stages.RECORD])

  @parameterized.parameters(
      (None, {s: False for s in stages.ORDER}),
      ('pretrain', {'labels': False, 'prompts': False, 'synthetic': False,
                    'pretrain': True, 'federated': True}),
  )
  def test_redo_flags(self, redo_from, expected):
    self.assertEqual(stages.redo_flags(redo_from), expected)

  def test_redo_flags_unknown_stage(self):
    with self.assertRaisesRegex(stages.StageError, 'Unknown stage'):
      stages.redo_flags('tuning')

  def test_file_digest_follows_content(self):
    root = self.create_tempdir().full_path
    path = os.path.join(root, 'm.bin')
    with open(path, 'wb') as f:
      f.write(b'abc')
    first = stages.file_digest(path)
    with open(path, 'wb') as f:
      f.write(b'abd')
    self.assertNotEqual(first, stages.file_digest(path))
    self.assertNotEqual(stages.file_digest(root), '')


if __name__ == '__main__':
  tf.test.main()
