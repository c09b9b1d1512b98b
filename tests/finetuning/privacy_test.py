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
"""Tests for gptfl_tff.finetuning.privacy."""

import dataclasses
import math

from absl.testing import parameterized
import dp_accounting
import numpy as np
import tensorflow as tf

from gptfl_tff import runtime
from gptfl_tff.finetuning import federated
from gptfl_tff.finetuning import forms
from gptfl_tff.finetuning import privacy

_SHAPE = (6, 4)
_SIZES = (24, 12, 36)  # Unequal, so weighted and unweighted means differ.
_LR = 0.5


def _keras_model():
  return tf.keras.Sequential([
      tf.keras.layers.Input(_SHAPE),
      tf.keras.layers.Flatten(),
      tf.keras.layers.Dense(3, kernel_initializer='zeros'),
  ])


def _client_arrays(seed, n):
  rng = np.random.default_rng(seed)
  y = rng.integers(0, 3, n).astype(np.int32)
  x = rng.normal(0, 0.3, (n,) + _SHAPE).astype(np.float32)
  x[np.arange(n), :, y] += 1.0
  return x, y


def _gdp_epsilon(noise_multiplier, rounds, delta):
  """Exact epsilon of `rounds` Gaussian mechanisms (Balle & Wang 2018).

  Composing Gaussian mechanisms of noise z gives mu-GDP with
  mu = sqrt(rounds) / z, whose delta(eps) is
  Phi(-eps/mu + mu/2) - e^eps Phi(-eps/mu - mu/2); solved by bisection.
  """
  mu = math.sqrt(rounds) / noise_multiplier

  def phi(v):
    return 0.5 * math.erfc(-v / math.sqrt(2))

  lo, hi = 0.0, 200.0
  for _ in range(200):
    mid = (lo + hi) / 2
    if phi(-mid / mu + mu / 2) - math.exp(mid) * phi(-mid / mu - mu / 2) > (
        delta):
      lo = mid
    else:
      hi = mid
  return hi


class AccountingTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters((14.45, 15), (5.386, 15), (1.0, 30), (2.0, 1))
  def test_full_participation_matches_the_gaussian_mechanism(self, z, rounds):
    exact = _gdp_epsilon(z, rounds, 1e-5)
    pld = privacy.epsilon(z, 50, 50, rounds, 1e-5, privacy.Accountant.PLD)
    rdp = privacy.epsilon(z, 50, 50, rounds, 1e-5, privacy.Accountant.RDP)
    self.assertAllClose(pld, exact, rtol=2e-3)
    # RDP is an upper bound, and a loose one only by a few percent here.
    self.assertBetween(rdp, exact, 1.1 * exact)

  def test_sampling_without_replacement_accounts_twice_the_clip(self):
    # Replace-one adjacency: the clipped sum's sensitivity is 2 * clip.
    got = privacy.epsilon(2.0, 10, 100, 20, 1e-5)
    accountant = dp_accounting.rdp.RdpAccountant(
        neighboring_relation=dp_accounting.NeighboringRelation.REPLACE_ONE)
    accountant.compose(dp_accounting.SelfComposedDpEvent(
        dp_accounting.SampledWithoutReplacementDpEvent(
            100, 10, dp_accounting.GaussianDpEvent(1.0)), 20))
    self.assertAllClose(got, accountant.get_epsilon(1e-5))
    # Fewer clients a round, less privacy spent.
    self.assertLess(privacy.epsilon(2.0, 5, 100, 20, 1e-5), got)

  @parameterized.parameters(
      (1.0, 50, privacy.Accountant.PLD), (3.0, 50, privacy.Accountant.RDP),
      (8.0, 10, privacy.Accountant.RDP))
  def test_noise_for_epsilon_meets_the_target(self, target, per_round,
                                              accountant):
    z = privacy.noise_for_epsilon(target, per_round, 50, 15, 1e-5,
                                  accountant)
    spent = privacy.epsilon(z, per_round, 50, 15, 1e-5, accountant)
    self.assertLessEqual(spent, target)
    self.assertGreater(spent, 0.99 * target)

  def test_pld_refuses_sampling(self):
    with self.assertRaisesRegex(ValueError, 'dp_accountant=rdp'):
      privacy.noise_for_epsilon(3.0, 10, 50, 15, 1e-5,
                                privacy.Accountant.PLD)

  def test_unreachable_target_is_explained(self):
    with self.assertRaisesRegex(ValueError, 'target_epsilon=1e-06'):
      privacy.noise_for_epsilon(1e-6, 50, 50, 15, 1e-5)

  def test_resolve_calibrates_and_caps_the_denominator(self):
    config = privacy.resolve(privacy.DPConfig(target_epsilon=3.0), 80, 50, 15)
    self.assertEqual(config.clients_per_round, 50)
    self.assertAllClose(config.noise_multiplier,
                        privacy.noise_for_epsilon(3.0, 50, 50, 15, 1e-5))

  @parameterized.parameters(
      dict(), dict(noise_multiplier=1.0, target_epsilon=1.0),
      dict(noise_multiplier=-1.0), dict(target_epsilon=0.0),
      dict(noise_multiplier=1.0, clip=0.0),
      dict(noise_multiplier=1.0, delta=1.0))
  def test_bad_configs_are_rejected(self, **kwargs):
    with self.assertRaisesRegex(ValueError, '--'):
      privacy.DPConfig(**kwargs)

  @parameterized.parameters((1.0, 3), (12.8, 100), (0.5, 100))
  def test_adaptive_noise_spends_the_total_budget(self, z, clients):
    value, count = privacy.adaptive_noise(z, clients)
    self.assertAllClose(value ** -2 + (2 * count) ** -2, z ** -2)
    self.assertBetween(value, z, 1.155 * z)
    self.assertGreaterEqual(count, 0.05 * clients)

  def test_unresolved_config_is_refused(self):
    with self.assertRaisesRegex(ValueError, 'privacy.resolve'):
      privacy.build_dp_factory(privacy.DPConfig(target_epsilon=3.0))


class SeededQueryTest(tf.test.TestCase):

  def test_noise_is_a_function_of_seed_and_round(self):
    query = privacy.SeededGaussianSumQuery(1.0, 2.0, noise_seed=7)
    zeros = [tf.zeros([500]), tf.zeros([3, 4])]
    state = query.initial_global_state()
    first, state1, _ = query.get_noised_result(zeros, state)
    again, _, _ = query.get_noised_result(zeros, state)
    second, _, _ = query.get_noised_result(zeros, state1)
    for a, b in zip(first, again):
      self.assertAllEqual(a, b)
    self.assertNotAllClose(first[0], second[0])  # A fresh draw each round.
    self.assertNotAllClose(first[0][:12], tf.reshape(first[1], [-1]))
    self.assertBetween(float(tf.math.reduce_std(first[0])), 1.8, 2.2)
    other, _, _ = privacy.SeededGaussianSumQuery(
        1.0, 2.0, noise_seed=8).get_noised_result(zeros, state._replace(
            seed=tf.constant(8, tf.int64)))
    self.assertNotAllClose(other[0], first[0])


class DPProcessTest(tf.test.TestCase, parameterized.TestCase):

  # (dp, secure) -> (process, round_fn), built once and shared by the
  # tests: a process holds no state between calls, so a resumed run may
  # reuse it.
  _built = {}

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    runtime.set_default_context(runtime.ContextKind.TEST)

  def setUp(self):
    super().setUp()
    self.store = federated.ClientStore(self.create_tempdir().full_path,
                                       _SHAPE)
    self.data = {}
    for k, n in enumerate(_SIZES):
      self.data[f'c{k}'] = _client_arrays(k, n)
      self.store.write(f'c{k}', *self.data[f'c{k}'])

  def _round(self, dp, secure=True, rounds=1, state=None):
    """Runs rounds of one full-batch SGD step per client; returns the
    process, the final state and the model weights after each round."""
    process, round_fn = self._build(dp, secure)
    if state is None:
      state = federated.set_initial_weights(
          process, process.initialize(), self._start_model())
    weights = []
    for r in range(rounds):
      state = round_fn(state, [
          (self.store.path(c), federated.client_seed(0, r, c))
          for c in sorted(self.data)]).state
      weights.append(np.concatenate([
          np.ravel(w) for w in process.get_model_weights(state).trainable]))
    return process, state, weights

  def _build(self, dp, secure):
    if (dp, secure) not in self._built:
      process = federated.build_learning_process(
          federated.create_tff_model_fn(_keras_model, _SHAPE),
          federated.ProcessConfig(client_learning_rate=_LR,
                                  client_momentum=0.0, secure=secure, dp=dp))
      self._built[dp, secure] = process, federated.build_round_computation(
          process, federated.build_client_data_computation(_SHAPE, 1, 64))
    return self._built[dp, secure]

  def _start_model(self):
    model = _keras_model()
    model.layers[-1].kernel.assign(
        np.random.default_rng(1).normal(0, 0.5, (24, 3)))
    return model

  def _clipped_fedavg(self, clip):
    """One round of unweighted FedAvg of updates clipped to `clip`, by hand."""
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    start = self._start_model()
    w0 = np.concatenate([np.ravel(w.numpy())
                         for w in start.trainable_weights])
    updates = []
    for c in sorted(self.data):
      x, y = self.data[c]
      with tf.GradientTape() as tape:
        loss = loss_fn(y, start(x))
      grads = tape.gradient(loss, start.trainable_weights)
      delta = -_LR * np.concatenate([np.ravel(g.numpy()) for g in grads])
      updates.append(delta * min(1.0, clip / np.linalg.norm(delta)))
    return w0, w0 + np.mean(updates, axis=0)

  @parameterized.named_parameters(('secure', True), ('plain', False))
  def test_no_noise_is_clipped_unweighted_fedavg(self, secure):
    clip = 0.05  # Below every client's update norm, so clipping binds.
    w0, expected = self._clipped_fedavg(clip)
    _, _, got = self._round(
        privacy.DPConfig(noise_multiplier=0.0, clip=clip,
                         clients_per_round=3), secure)
    self.assertAllClose(got[0], expected, atol=1e-6)
    self.assertNotAllClose(got[0], w0)

  def test_noise_has_its_scale_and_is_seeded_by_round(self):
    clip, z = 0.05, 1.0
    _, expected = self._clipped_fedavg(clip)
    dp = privacy.DPConfig(noise_multiplier=z, clip=clip, clients_per_round=3)
    _, _, first = self._round(dp)
    _, _, again = self._round(dp)
    self.assertAllEqual(first[0], again[0])  # Same seed, same noise.
    noise = (first[0] - expected) / (z * clip / 3)  # Std of the mean's noise.
    self.assertBetween(np.std(noise), 0.75, 1.25)  # 75 draws.
    self.assertBetween(np.mean(noise), -0.4, 0.4)
    _, _, other = self._round(dataclasses.replace(dp, noise_seed=1))
    self.assertNotAllClose(other[0], first[0])

  def test_resumed_run_draws_the_same_noise(self):
    dp = privacy.DPConfig(noise_multiplier=1.0, clip=0.05,
                          clients_per_round=3)
    _, _, straight = self._round(dp, rounds=2)
    _, state, _ = self._round(dp, rounds=1)
    # A resumed run continues from the saved state: round 2's noise must be
    # round 2's, not round 1's again.
    process, round_fn = self._build(dp, secure=True)
    state = round_fn(state, [
        (self.store.path(c), federated.client_seed(0, 1, c))
        for c in sorted(self.data)]).state
    resumed = np.concatenate([
        np.ravel(w) for w in process.get_model_weights(state).trainable])
    self.assertAllEqual(resumed, straight[1])

  def test_adaptive_clipping_trains_with_noise_and_few_clients(self):
    # TFF's own adaptive factory refuses noise >= 0.1 * clients (here 0.3).
    dp = privacy.DPConfig(noise_multiplier=1.0, clip=0.05,
                          adaptive_clipping=True, clients_per_round=3)
    _, _, weights = self._round(dp, rounds=2)
    self.assertNotAllClose(weights[0], weights[1])

  def test_dp_round_passes_the_secure_aggregation_audit(self):
    dp = privacy.DPConfig(noise_multiplier=1.0, clip=0.05,
                          clients_per_round=3)
    process, _, _ = self._round(dp, rounds=0)
    self.assertIsNotNone(forms.audit(process.next))
    plain, _, _ = self._round(dp, secure=False, rounds=0)
    with self.assertRaises(forms.InsecureAggregationError):
      forms.audit(plain.next)


if __name__ == '__main__':
  tf.test.main()
