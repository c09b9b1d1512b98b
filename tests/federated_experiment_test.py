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
"""Tests for gptfl_tff.federated_experiment (data and partition wiring)."""

import dataclasses

import numpy as np
import tensorflow as tf

from gptfl_tff import federated_experiment as fe
from gptfl_tff import models
from gptfl_tff.tasks import fsdd
from tests import fixtures


class FederatedExperimentTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.data = self.create_tempdir().full_path
    fixtures.write_fsdd_folder(self.data, indices=range(8))

  def test_scarce_keeps_at_most_k_per_label(self):
    labels = np.array([0, 0, 0, 1, 1, 2])
    kept = fe.scarce(labels, np.arange(6), per_label=2, seed=0)
    self.assertEqual(np.bincount(labels[kept]).tolist(), [2, 2, 1])
    self.assertAllEqual(kept, fe.scarce(labels, np.arange(6), 2, 0))

  def test_partitions_follow_config(self):
    base = fe.ExperimentConfig(data_dir=self.data)
    train, test = fe.load_splits(base)
    self.assertLen(test, 3 * 10 * 5)
    parts = fe.create_partition(train, base)
    self.assertEqual(sorted(parts), list(fixtures.SPEAKERS))
    scarce = fe.create_partition(
        train, dataclasses.replace(base, examples_per_label=1))
    for idx in scarce.values():
      self.assertEqual(np.bincount(train.labels[idx]).tolist(), [1] * 10)
    skew = fe.create_partition(train, dataclasses.replace(
        base, partition=fe.Partition.DIRICHLET, num_clients=4,
        min_client_examples=5))
    self.assertLen(skew, 4)
    self.assertEqual(sum(len(v) for v in skew.values()), len(train))

  def test_speaker_split_needs_speakers(self):
    with self.assertRaisesRegex(ValueError, 'test_speakers'):
      fe.load_splits(fe.ExperimentConfig(data_dir=self.data,
                                         split=fe.Split.SPEAKER))

  def test_missing_initial_model(self):
    with self.assertRaisesRegex(FileNotFoundError, 'random init'):
      models.load_initial_model('/nonexistent/model.keras')


if __name__ == '__main__':
  tf.test.main()
