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
"""Tests for gptfl_tff.finetuning.diversity: Eq. 1 under secure sums."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf
import tensorflow_federated as tff

from gptfl_tff import runtime
from gptfl_tff.finetuning import diversity
from gptfl_tff.finetuning import forms

# Like model weights: a list of tensors.
_VALUE = tff.StructWithPythonType(
    [tff.TensorType(np.float32, [3]), tff.TensorType(np.float32, [2])], list)


def _secure():
  return tff.learning.secure_aggregator(
      zeroing=True, clipping=False, weighted=True)


class DiversityTest(tf.test.TestCase, parameterized.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    runtime.set_default_context(runtime.ContextKind.TEST)

  def _run(self, inner, updates, weights):
    process = diversity.GradientDiversityFactory(inner).create(
        _VALUE, tff.TensorType(np.float32))
    values = [[u[:3], u[3:]] for u in updates]
    return process, process.next(process.initialize(), values, weights)

  @parameterized.named_parameters(
      ('plain', tff.aggregators.MeanFactory, 1e-6),
      # The secure mean is quantised, hence the looser tolerance.
      ('secure', _secure, 1e-4),
  )
  def test_matches_a_direct_computation(self, inner, rtol):
    rng = np.random.default_rng(0)
    updates = [rng.normal(0, 0.1, 5).astype(np.float32) for _ in range(4)]
    weights = [10.0, 20.0, 5.0, 7.0]
    _, out = self._run(inner(), updates, weights)
    want = diversity.reference(updates, weights)
    self.assertAllClose(out.measurements['gradient_diversity'], want,
                        rtol=rtol)
    self.assertEqual(out.measurements['gradient_diversity_clipped'], 0)
    # The inner aggregator's result and state are untouched: the same as
    # the inner aggregator's alone, bit for bit.
    alone = inner().create(_VALUE, tff.TensorType(np.float32))
    want_out = alone.next(alone.initialize(),
                          [[u[:3], u[3:]] for u in updates], weights)
    for got, expected in zip(out.result, want_out.result):
      self.assertAllEqual(got, expected)
    tf.nest.map_structure(self.assertAllEqual, out.state, want_out.state)

  def test_one_client_and_equal_clients(self):
    update = np.array([0.3, -0.1, 0.2, 0.05, 0.4], np.float32)
    _, out = self._run(tff.aggregators.MeanFactory(), [update], [8.0])
    self.assertAllClose(out.measurements['gradient_diversity'], 1.0)
    # Equal updates and weights: the lower bound 1/|S|.
    _, out = self._run(tff.aggregators.MeanFactory(), [update] * 4,
                       [8.0] * 4)
    self.assertAllClose(out.measurements['gradient_diversity'], 0.25)
    # Opposite updates cancel: large diversity.
    _, out = self._run(tff.aggregators.MeanFactory(),
                       [update, -0.9 * update], [8.0, 8.0])
    self.assertGreater(out.measurements['gradient_diversity'], 50.0)

  def test_oversized_terms_are_clipped_and_counted(self):
    huge = np.full(5, 1e5, np.float32)  # n^2 ||u||^2 * 2^16 > 2^48.
    _, out = self._run(tff.aggregators.MeanFactory(),
                       [huge, 0.01 * huge], [100.0, 1.0])
    self.assertEqual(out.measurements['gradient_diversity_clipped'], 1)

  def test_client_terms_reach_the_server_only_by_secure_sums(self):
    process = diversity.GradientDiversityFactory(_secure()).create(
        _VALUE, tff.TensorType(np.float32))
    uris = forms.intrinsic_uris(process.next)
    self.assertIn('federated_secure_sum_bitwidth', uris)
    self.assertNotIn('federated_sum', uris)
    self.assertNotIn('federated_aggregate', uris)
    self.assertNotIn('federated_mean', uris)


if __name__ == '__main__':
  tf.test.main()
