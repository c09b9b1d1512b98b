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
"""Tests for gptfl_tff.discovery.label_discovery."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from gptfl_tff import runtime
from gptfl_tff.discovery import label_discovery
from gptfl_tff.finetuning import forms


def _overlapping_clients(names, num_clients=20, per_client=8, seed=0):
  rng = np.random.default_rng(seed)
  return [
      [str(n) for n in rng.choice(names, size=per_client, replace=False)]
      for _ in range(num_clients)
  ]


_PLAIN_AGGREGATIONS = frozenset({
    'federated_sum',
    'federated_aggregate',
    'federated_mean',
    'federated_weighted_mean',
})


class LabelDiscoveryTest(tf.test.TestCase, parameterized.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    runtime.set_default_context(runtime.ContextKind.TEST)

  @parameterized.named_parameters(
      ('ascii', [f'label_{i:02d}' for i in range(50)]),
      ('multi_byte', [f'日本語-{i}-ñé' for i in range(25)]
       + [f'Ελληνικά{i}' for i in range(25)]),
  )
  def test_twenty_clients_give_exactly_the_union(self, names):
    clients = _overlapping_clients(names)
    # Every name is held by some client, so the union is all 50.
    clients.append(names[:25])
    clients.append(names[25:])
    expected = sorted(set(n for c in clients for n in c))
    self.assertLen(expected, 50)
    result = label_discovery.discover_labels(clients, capacity=128)
    self.assertEqual(list(result.labels), expected)
    holders = {n: sum(n in c for c in clients) for n in expected}
    self.assertEqual(list(result.client_counts), [holders[n] for n in expected])
    self.assertEqual(result.attempts, (128,))

  def test_discovery_sums_only_securely(self):
    uris = forms.intrinsic_uris(
        label_discovery.build_discovery_computation(
            capacity=8, string_max_bytes=8
        )
    )
    # The IBLT sketch goes through a modular secure sum, its counts through
    # secure sums; no client value may take a plain aggregation.
    self.assertContainsSubset(
        {'federated_secure_modular_sum', 'federated_secure_sum'}, uris
    )
    self.assertEmpty(uris & _PLAIN_AGGREGATIONS)

  def test_small_capacity_retries_larger(self):
    names = [f'label_{i:02d}' for i in range(50)]
    clients = _overlapping_clients(names) + [names]
    result = label_discovery.discover_labels(
        clients, capacity=4, max_capacity=1024
    )
    self.assertEqual(list(result.labels), sorted(names))
    self.assertGreater(len(result.attempts), 1)
    self.assertEqual(result.attempts[0], 4)
    self.assertEqual(result.capacity, result.attempts[-1])
    for a, b in zip(result.attempts, result.attempts[1:]):
      self.assertEqual(b, 2 * a)

  def test_capacity_bound_gives_clear_error(self):
    names = [f'label_{i:02d}' for i in range(50)]
    with self.assertRaisesRegex(
        label_discovery.LabelDiscoveryError, 'did not decode.*--label_capacity'
    ):
      label_discovery.discover_labels([names], capacity=2, max_capacity=4)

  def test_name_over_byte_limit_is_rejected(self):
    with self.assertRaisesRegex(
        label_discovery.LabelDiscoveryError,
        "Client 1: label name 'ééééé' is 10 bytes.*limit of 8"):
      label_discovery.discover_labels(
          [['cat'], ['ééééé']], string_max_bytes=8
      )

  def test_empty_name_is_rejected(self):
    with self.assertRaisesRegex(label_discovery.LabelDiscoveryError,
                                'non-empty'):
      label_discovery.validate_names([['cat', '']], 8)

  def test_duplicates_within_a_client_count_once(self):
    self.assertEqual(
        label_discovery.validate_names([['a', 'b', 'a']], 8), [['a', 'b']]
    )


if __name__ == '__main__':
  tf.test.main()
