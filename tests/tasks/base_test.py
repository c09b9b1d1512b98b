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
"""Tests for gptfl_tff.tasks.base and the task registry."""

import numpy as np
import tensorflow as tf

from gptfl_tff import tasks
from gptfl_tff.tasks import base


class BaseTest(tf.test.TestCase):

  def test_registry_finds_every_task_module(self):
    self.assertEqual(tasks.names(),
                     ('cifar10', 'cifar100', 'esc50', 'fsdd',
                      'oxford_flowers102', 'speech_commands'))
    self.assertEqual(tasks.get('fsdd').modality, base.Modality.AUDIO)
    self.assertEqual(tasks.get('cifar100').label_names[:2],
                     ('apple', 'aquarium_fish'))
    with self.assertRaisesRegex(base.DataError, "Unknown task 'mnist'.*--task"):
      tasks.get('mnist')

  def test_models_and_labels(self):
    task = tasks.get('cifar10')
    self.assertEqual(task.create_model('convnet', seed=0).output_shape,
                     (None, 10))
    with self.assertRaisesRegex(base.DataError, "no model 'vit'.*--model"):
      task.create_model('vit')
    self.assertEqual(task.label_id('ship'), 8)
    with self.assertRaisesRegex(base.DataError, "Unknown label 'lion'"):
      task.label_id('lion')

  def test_cap_per_class_keeps_the_first_of_each(self):
    data = base.ExampleSet(np.arange(6), np.array([0, 1, 0, 1, 0, 2]),
                           np.array([''] * 6))
    self.assertEqual(base.cap_per_class(data, 2).features.tolist(),
                     [0, 1, 2, 3, 5])
    self.assertLen(base.cap_per_class(data, 0), 6)

  def test_example_set_needs_one_label_and_group_per_example(self):
    with self.assertRaisesRegex(ValueError, 'one each per example'):
      base.ExampleSet(np.zeros(3), np.zeros(2), np.array(['a'] * 3))

  def test_missing_source_names_the_flags(self):
    with self.assertRaisesRegex(base.DataError, 'not found.*HELP'):
      base.DataConfig(data_dir='/nonexistent').source('HELP')


if __name__ == '__main__':
  tf.test.main()
