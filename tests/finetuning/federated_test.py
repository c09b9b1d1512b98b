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
"""Tests for gptfl_tff.finetuning.federated."""

import os

from absl.testing import parameterized
import numpy as np
import tensorflow as tf
import tensorflow_federated as tff

from gptfl_tff import runtime
from gptfl_tff.finetuning import federated

_SHAPE = (6, 4)


def _keras_model():
  return tf.keras.Sequential([
      tf.keras.layers.Input(_SHAPE),
      tf.keras.layers.Flatten(),
      tf.keras.layers.Dense(3, kernel_initializer='zeros'),
  ])


def _client_arrays(seed, n=24):
  """Three linearly separable classes."""
  rng = np.random.default_rng(seed)
  y = rng.integers(0, 3, n).astype(np.int32)
  x = rng.normal(0, 0.3, (n,) + _SHAPE).astype(np.float32)
  x[np.arange(n), :, y] += 1.0
  return x, y


class ClientDataTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.store = federated.ClientStore(self.create_tempdir().full_path, _SHAPE)
    self.x, self.y = _client_arrays(0, n=10)
    self.store.write('c0', self.x, self.y)

  def _read(self, seed, epochs=2, batch_size=4):
    ds = federated.make_client_dataset(
        tf.constant(self.store.path('c0')), tf.constant(seed, tf.int64),
        _SHAPE, epochs, batch_size,
    )
    batches = list(ds.as_numpy_iterator())
    return (np.concatenate([b[0] for b in batches]),
            np.concatenate([b[1] for b in batches]), batches)

  def test_each_epoch_is_a_permutation(self):
    x, y, batches = self._read(seed=5)
    self.assertEqual([len(b[1]) for b in batches], [4, 4, 4, 4, 4])
    for epoch in (slice(0, 10), slice(10, 20)):
      # Rows of x identify examples: each appears once per epoch.
      order = [int(np.flatnonzero((self.x == row).all(axis=(1, 2)))[0])
               for row in x[epoch]]
      self.assertCountEqual(order, range(10))
      self.assertAllEqual(y[epoch], self.y[order])

  def test_order_is_a_function_of_the_seed(self):
    a, _, _ = self._read(seed=1)
    b, _, _ = self._read(seed=1)
    c, _, _ = self._read(seed=2)
    self.assertAllEqual(a, b)
    self.assertNotAllClose(a, c)

  def test_store_rejects_empty_and_mismatched_clients(self):
    with self.assertRaisesRegex(ValueError, "'empty' has no examples"):
      self.store.write('empty', np.zeros((0,) + _SHAPE), np.zeros(0))
    with self.assertRaisesRegex(ValueError, 'do not match'):
      self.store.write('bad', np.zeros((2, 5, 4)), np.zeros(2))
    self.assertEqual(self.store.sizes, {'c0': 10})
    self.assertTrue(os.path.exists(self.store.path('c0') + '.x'))

  def test_write_partition_stores_each_client_its_examples(self):
    store = federated.ClientStore(self.create_tempdir().full_path, _SHAPE)
    x, y = _client_arrays(1, n=9)
    parts = {'a': np.array([0, 4, 8]), 'b': np.array([1, 2, 3, 5, 6, 7])}
    store.write_partition(x, y, parts)
    self.assertEqual(store.sizes, {'a': 3, 'b': 6})
    for client, idx in parts.items():
      stored_x, stored_y = store.read(client)
      self.assertAllEqual(stored_x, x[idx])
      self.assertAllEqual(stored_y, y[idx])

  def test_uint8_images_become_model_input(self):
    store = federated.ClientStore(self.create_tempdir().full_path, (2, 2, 3),
                                  np.uint8)
    images = np.array([np.zeros((2, 2, 3)), np.full((2, 2, 3), 255)],
                      np.uint8)
    store.write('img', images, np.array([0, 1]))
    self.assertEqual(os.path.getsize(store.path('img') + '.x'), 24)
    ds = federated.make_client_dataset(
        tf.constant(store.path('img')), tf.constant(0, tf.int64), (2, 2, 3),
        1, 2, np.uint8)
    x, y = next(iter(ds))
    self.assertEqual(x.dtype, tf.float32)
    stored_x, stored_y = store.read('img')
    self.assertAllClose(stored_x, [-np.ones((2, 2, 3)), np.ones((2, 2, 3))])
    self.assertAllEqual(stored_y, [0, 1])
    by_label = dict(zip(y.numpy().tolist(), x.numpy()))
    self.assertAllClose(by_label[0], -np.ones((2, 2, 3)))
    self.assertAllClose(by_label[1], np.ones((2, 2, 3)))
    with self.assertRaisesRegex(ValueError, 'float32 or uint8'):
      federated.ClientStore('/tmp', (2,), np.int16)

  def test_client_seed_is_stable(self):
    self.assertEqual(federated.client_seed(0, 1, 'a'),
                     federated.client_seed(0, 1, 'a'))
    self.assertNotEqual(federated.client_seed(0, 1, 'a'),
                        federated.client_seed(0, 2, 'a'))
    self.assertGreaterEqual(federated.client_seed(3, 4, 'b'), 0)


class ProcessTest(tf.test.TestCase, parameterized.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    runtime.set_default_context(runtime.ContextKind.TEST)

  @parameterized.named_parameters(
      ('fedavg_secure', federated.ProcessConfig(client_learning_rate=0.2)),
      ('fedavg_plain', federated.ProcessConfig(
          client_learning_rate=0.2, secure=False)),
      ('fedopt_adam_secure', federated.ProcessConfig(
          algorithm=federated.Algorithm.FEDOPT, client_learning_rate=0.2,
          server_learning_rate=0.05)),
      ('fedprox_secure', federated.ProcessConfig(
          algorithm=federated.Algorithm.FEDPROX, client_learning_rate=0.2,
          proximal_strength=0.1)),
      ('fedopt_yogi_secure', federated.ProcessConfig(
          algorithm=federated.Algorithm.FEDOPT, client_learning_rate=0.2,
          server_learning_rate=0.05,
          server_optimizer=federated.ServerOptimizer.YOGI)),
  )
  def test_loss_goes_down(self, config):
    store = federated.ClientStore(self.create_tempdir().full_path, _SHAPE)
    for k in range(3):
      store.write(f'c{k}', *_client_arrays(k))
    process = federated.build_learning_process(
        federated.create_tff_model_fn(_keras_model, _SHAPE), config
    )
    round_fn = federated.build_round_computation(
        process, federated.build_client_data_computation(_SHAPE, 1, 8)
    )
    state = federated.set_initial_weights(
        process, process.initialize(), _keras_model()
    )
    losses = []
    for r in range(4):
      args = [(store.path(c), federated.client_seed(0, r, c))
              for c in sorted(store.sizes)]
      out = round_fn(state, args)
      state = out.state
      train = out.metrics['client_work']['train']
      self.assertEqual(train['num_examples'], 72)
      losses.append(float(train['loss']))
    self.assertLess(losses[-1], 0.8 * losses[0])

  def test_fedprox_pulls_clients_toward_the_round_start(self):
    # One client, one round: the server takes the client's model. The
    # proximal term must keep it nearer the start than FedAvg does, and more
    # so with a larger mu.
    store = federated.ClientStore(self.create_tempdir().full_path, _SHAPE)
    store.write('c0', *_client_arrays(0))
    moved = {}
    for name, config in [
        ('fedavg', federated.ProcessConfig(client_learning_rate=0.2)),
        ('mu_small', federated.ProcessConfig(
            client_learning_rate=0.2, proximal_strength=0.1,
            algorithm=federated.Algorithm.FEDPROX)),
        ('mu_large', federated.ProcessConfig(
            client_learning_rate=0.2, proximal_strength=1.0,
            algorithm=federated.Algorithm.FEDPROX))]:
      process = federated.build_learning_process(
          federated.create_tff_model_fn(_keras_model, _SHAPE), config)
      round_fn = federated.build_round_computation(
          process, federated.build_client_data_computation(_SHAPE, 3, 8))
      state = federated.set_initial_weights(
          process, process.initialize(), _keras_model())
      state = round_fn(state, [(store.path('c0'), 1)]).state
      moved[name] = np.linalg.norm(
          process.get_model_weights(state).trainable[0])  # Start: zeros.
    self.assertGreater(moved['fedavg'], 0.0)
    self.assertLess(moved['mu_small'], 0.9 * moved['fedavg'])
    self.assertLess(moved['mu_large'], 0.9 * moved['mu_small'])

  def test_fedprox_matches_a_hand_written_proximal_step(self):
    # Plain SGD on one full batch: w <- w - lr * (grad L(w) + mu (w - w0)).
    x, y = _client_arrays(0)
    store = federated.ClientStore(self.create_tempdir().full_path, _SHAPE)
    store.write('c0', x, y)
    lr, mu, steps = 0.3, 2.0, 3
    process = federated.build_learning_process(
        federated.create_tff_model_fn(_keras_model, _SHAPE),
        federated.ProcessConfig(
            algorithm=federated.Algorithm.FEDPROX, client_learning_rate=lr,
            client_momentum=0.0, proximal_strength=mu, secure=False))
    round_fn = federated.build_round_computation(
        process, federated.build_client_data_computation(
            _SHAPE, steps, len(y)))
    model = _keras_model()
    model.layers[-1].kernel.assign(
        np.random.default_rng(1).normal(0, 0.5, (24, 3)))
    state = federated.set_initial_weights(
        process, process.initialize(), model)
    out = round_fn(state, [(store.path('c0'), 5)])
    got = process.get_model_weights(out.state).trainable
    # One client: Eq. 1's gradient diversity is exactly 1.
    self.assertAllClose(out.metrics['aggregator']['gradient_diversity'], 1.0)
    start = [w.numpy() for w in model.trainable_weights]
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    for _ in range(steps):
      with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x))
      grads = tape.gradient(loss, model.trainable_weights)
      for w, g, w0 in zip(model.trainable_weights, grads, start):
        w.assign(w - lr * (g + mu * (w - w0)))
    for a, b in zip(got, model.trainable_weights):
      self.assertAllClose(a, b.numpy(), atol=1e-5)
    self.assertNotAllClose(got[0], start[0])

  def test_tff_fed_prox_still_pushes_away_from_the_start(self):
    # Why FedProx is not TFF's `build_weighted_fed_prox` (TFF 0.87): its
    # proximal gradient has the wrong sign. If an upgrade fixes it, this
    # fails, and the project can use TFF's again.
    store = federated.ClientStore(self.create_tempdir().full_path, _SHAPE)
    store.write('c0', *_client_arrays(0))
    moved = []
    for mu in (0.0, 1.0):
      process = tff.learning.algorithms.build_weighted_fed_prox(
          federated.create_tff_model_fn(_keras_model, _SHAPE), mu,
          client_optimizer_fn=tff.learning.optimizers.build_sgdm(0.2))
      round_fn = federated.build_round_computation(
          process, federated.build_client_data_computation(_SHAPE, 3, 8))
      state = federated.set_initial_weights(
          process, process.initialize(), _keras_model())
      state = round_fn(state, [(store.path('c0'), 1)]).state
      moved.append(np.linalg.norm(
          process.get_model_weights(state).trainable[0]))
    self.assertGreater(moved[1], moved[0])

  def test_fedprox_needs_a_positive_mu(self):
    with self.assertRaisesRegex(ValueError, 'positive proximal strength'):
      federated.ProcessConfig(algorithm=federated.Algorithm.FEDPROX,
                              proximal_strength=0.0)

  def test_client_loops_train_alike(self):
    self.assertEqual(federated.ProcessConfig().client_loop,
                     federated.ClientLoop.ITERATOR)
    store = federated.ClientStore(self.create_tempdir().full_path, _SHAPE)
    for k in range(2):
      store.write(f'c{k}', *_client_arrays(k))
    args = [(store.path(c), federated.client_seed(0, 1, c))
            for c in sorted(store.sizes)]
    weights = []
    for loop in federated.ClientLoop:
      process = federated.build_learning_process(
          federated.create_tff_model_fn(_keras_model, _SHAPE),
          federated.ProcessConfig(client_learning_rate=0.2, secure=False,
                                  client_loop=loop))
      round_fn = federated.build_round_computation(
          process, federated.build_client_data_computation(_SHAPE, 2, 5))
      state = federated.set_initial_weights(
          process, process.initialize(), _keras_model())
      state = round_fn(state, args).state
      weights.append(process.get_model_weights(state).trainable)
      graphs = tff.framework.ConcreteComputation.get_proto(
          process.next).SerializeToString()
      # The loop form reaches the graph: only REDUCE has a ReduceDataset.
      self.assertEqual(b'ReduceDataset' in graphs,
                       loop == federated.ClientLoop.REDUCE)
    self.assertNotAllClose(weights[0][0], np.zeros_like(weights[0][0]))
    for a, b in zip(*weights):
      self.assertAllClose(a, b, atol=1e-6)

  def test_initial_weights_come_from_keras(self):
    process = federated.build_learning_process(
        federated.create_tff_model_fn(_keras_model, _SHAPE),
        federated.ProcessConfig(),
    )
    keras_model = _keras_model()
    keras_model.set_weights([np.full_like(w, 0.5)
                             for w in keras_model.get_weights()])
    state = federated.set_initial_weights(
        process, process.initialize(), keras_model
    )
    for w in process.get_model_weights(state).trainable:
      self.assertAllClose(w, np.full_like(w, 0.5))

  def test_bad_configs_are_rejected(self):
    with self.assertRaisesRegex(ValueError, 'adaptive server optimizer'):
      federated.ProcessConfig(
          algorithm=federated.Algorithm.FEDOPT,
          server_optimizer=federated.ServerOptimizer.SGD,
      )
    with self.assertRaisesRegex(ValueError, 'must be positive'):
      federated.ProcessConfig(client_learning_rate=0.0)


if __name__ == '__main__':
  tf.test.main()
