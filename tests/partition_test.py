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
"""Tests for gptfl_tff.partition."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from gptfl_tff import partition


class PartitionTest(tf.test.TestCase, parameterized.TestCase):

  def test_natural_one_client_per_group_exact(self):
    parts = partition.natural(['b', 'a', 'b', 'a', 'c'])
    self.assertEqual(list(parts), ['a', 'b', 'c'])
    self.assertAllEqual(parts['a'], [1, 3])
    self.assertAllEqual(parts['b'], [0, 2])
    self.assertAllEqual(parts['c'], [4])

  def test_natural_several_clients_per_group(self):
    groups = ['a'] * 10 + ['b'] * 7
    parts = partition.natural(groups, clients_per_group=3, seed=1)
    self.assertLen(parts, 6)
    self.assertAllEqual(
        np.sort(np.concatenate(list(parts.values()))), np.arange(17)
    )
    self.assertEqual(sorted(len(v) for v in parts.values()), [2, 2, 3, 3, 3, 4])
    again = partition.natural(groups, clients_per_group=3, seed=1)
    for k in parts:
      self.assertAllEqual(parts[k], again[k])
    with self.assertRaisesRegex(partition.PartitionError, "Group 'b' has 7"):
      partition.natural(groups, clients_per_group=8)

  @parameterized.parameters(0.1, 0.5, 10.0)
  def test_dirichlet_covers_everything_once(self, alpha):
    labels = np.repeat(np.arange(10), 50)
    parts = partition.dirichlet(labels, 10, alpha, min_examples=5, seed=3)
    self.assertLen(parts, 10)
    everything = np.concatenate(list(parts.values()))
    self.assertAllEqual(np.sort(everything), np.arange(500))
    self.assertGreaterEqual(min(len(v) for v in parts.values()), 5)

  def test_dirichlet_is_deterministic_by_seed(self):
    labels = np.repeat(np.arange(10), 50)
    a = partition.dirichlet(labels, 8, 0.5, seed=7)
    b = partition.dirichlet(labels, 8, 0.5, seed=7)
    c = partition.dirichlet(labels, 8, 0.5, seed=8)
    for k in a:
      self.assertAllEqual(a[k], b[k])
    self.assertFalse(all(np.array_equal(a[k], c[k]) for k in a))

  def test_small_alpha_skews_labels(self):
    labels = np.repeat(np.arange(10), 100)
    skewed = partition.label_histograms(
        partition.dirichlet(labels, 10, 0.1, seed=0), labels, 10)
    flat = partition.label_histograms(
        partition.dirichlet(labels, 10, 100.0, seed=0), labels, 10)
    # Share of each client's largest class: high under skew, ~0.1 when flat.
    top_share = lambda h: np.mean(h.max(1) / h.sum(1))
    self.assertGreater(top_share(skewed), 0.4)
    self.assertLess(top_share(flat), 0.2)

  def test_dirichlet_bad_arguments(self):
    labels = np.repeat(np.arange(2), 5)
    with self.assertRaisesRegex(partition.PartitionError, 'exceeds'):
      partition.dirichlet(labels, 5, 0.5, min_examples=3)
    with self.assertRaisesRegex(partition.PartitionError, 'alpha > 0'):
      partition.dirichlet(labels, 2, 0.0)
    with self.assertRaisesRegex(partition.PartitionError, 'raise alpha'):
      partition.dirichlet(labels, 5, 0.01, min_examples=2, max_tries=3)


if __name__ == '__main__':
  tf.test.main()
