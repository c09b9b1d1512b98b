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
"""Tests for gptfl_tff.orchestration.overhead (floors and timing plumbing)."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from gptfl_tff import runtime
from gptfl_tff.finetuning import federated
from gptfl_tff.finetuning import forms
from gptfl_tff.orchestration import overhead

_SHAPE = (5, 3)


def _model():
  return tf.keras.Sequential([
      tf.keras.layers.Input(_SHAPE),
      tf.keras.layers.GRU(4, kernel_initializer=tf.keras.initializers.
                          GlorotUniform(seed=1)),
      tf.keras.layers.Dense(2, kernel_initializer='zeros'),
  ])


def _store(path, sizes=(8, 5)):
  store = federated.ClientStore(path, _SHAPE)
  rng = np.random.default_rng(0)
  for k, n in enumerate(sizes):
    x = rng.normal(size=(n,) + _SHAPE)
    store.write(f'c{k}', x, (x[:, :, 0].mean(1) > 0).astype(np.int32))
  return store


class OverheadTest(tf.test.TestCase, parameterized.TestCase):

  def test_step_trainer_learns_and_resets_momentum(self):
    trainer = overhead.create_step_trainer(
        _model, federated.ProcessConfig(client_learning_rate=0.5), _SHAPE, 4)
    x = np.random.default_rng(0).normal(size=(16,) + _SHAPE).astype(np.float32)
    y = (x[:, :, 0].mean(1) > 0).astype(np.int32)
    start = _model().get_weights()
    new, n = trainer(start, x, y)
    self.assertEqual(n, 16)
    self.assertNotAllClose(new[-2], start[-2])
    again, _ = trainer(start, x, y)
    for a, b in zip(new, again):  # Same start, momentum reset: same result.
      self.assertAllClose(a, b, atol=1e-6)

  def test_floors_do_the_work_of_a_tff_round(self):
    # The floors are only a floor if they train what TFF trains: the same
    # examples in the same order, the same optimizer and the same average.
    store = _store(self.create_tempdir().full_path)
    config = federated.ProcessConfig(secure=False, client_learning_rate=0.3)
    runtime.set_default_context(runtime.ContextKind.TEST)
    process = federated.build_learning_process(
        federated.create_tff_model_fn(_model, _SHAPE), config)
    round_fn = forms.build_round(federated.build_round_computation(
        process, federated.build_client_data_computation(_SHAPE, 2, 3)))
    initial = _model()
    start = initial.get_weights()
    state = federated.set_initial_weights(
        process, process.initialize(), initial)
    clients = sorted(store.sizes)
    state = round_fn(
        state, [(store.path(c), federated.client_seed(7, 1, c))
                for c in clients]).state
    tff_weights = process.get_model_weights(state).trainable
    items = [overhead.in_training_order(*store.read(c), 7, 1, c, 2)
             for c in clients]
    step = overhead.create_step_trainer(_model, config, _SHAPE, 3)
    epoch = overhead.create_epoch_trainer(_model, config)
    floors = {
        'step': overhead.weighted_average([step(start, *i) for i in items]),
        'epoch': overhead.weighted_average([
            epoch(start, tf.data.Dataset.from_tensor_slices(i).batch(3))
            for i in items]),
    }
    for name, weights in floors.items():
      with self.subTest(name):
        self.assertNotAllClose(weights[0], start[0])
        for a, b in zip(weights, tff_weights):
          self.assertAllClose(a, b, atol=1e-5)

  @parameterized.named_parameters(
      ('one_worker', 1, True), ('two_workers', 2, True),
      ('without_epoch_floor', 1, False))
  def test_measure_reports_every_round_of_every_variant(self, workers,
                                                       epoch_floor):
    store = _store(self.create_tempdir().full_path)
    variants = {
        'plain': overhead.Variant(federated.ProcessConfig(secure=False)),
        'plain, reduce loop': overhead.Variant(
            federated.ProcessConfig(
                secure=False, client_loop=federated.ClientLoop.REDUCE),
            forms.RoundForm.AS_WRITTEN)}
    calls = []
    result = overhead.measure(
        _model, store, variants, epochs=1, batch_size=4, rounds=2, threads=2,
        progress=lambda: calls.append(1), workers=workers,
        epoch_floor=epoch_floor)
    floors = [f for f in overhead.FLOORS
              if epoch_floor or f != overhead.EPOCH_PARALLEL]
    self.assertEqual(result.workers, workers)
    self.assertGreater(result.worker_peak_mb, 10)
    self.assertEqual(sorted(result.seconds),
                     sorted(list(variants) + floors))
    for times in result.seconds.values():
      self.assertLen(times, 2)
      self.assertTrue(all(t > 0 for t in times))
    self.assertEqual(sorted(result.worker_cpu_seconds), sorted(variants))
    for times in result.worker_cpu_seconds.values():
      self.assertLen(times, 2)
      self.assertTrue(all(t > 0 for t in times))
    self.assertLen(calls, 3 * (len(variants) + len(floors)))
    self.assertEqual((result.clients, result.examples, result.threads),
                     (2, 13, 2))
    self.assertAllClose(
        result.ratio('plain'),
        result.median('plain') / result.median(overhead.STEP_PARALLEL))
    self.assertAllClose(
        result.ms_per_client_above('plain'),
        (result.median('plain') - result.median(overhead.STEP_PARALLEL))
        * 1e3 / 2)

  def test_measure_refuses_a_variant_named_like_a_floor(self):
    store = _store(self.create_tempdir().full_path)
    with self.assertRaisesRegex(ValueError, 'floor'):
      overhead.measure(_model, store,
                       {overhead.STEP_SERIAL: overhead.Variant(
                           federated.ProcessConfig())},
                       epochs=1, batch_size=4)


if __name__ == '__main__':
  tf.test.main()
