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
"""Tests for gptfl_tff.overhead (timing plumbing, tiny model)."""

import numpy as np
import tensorflow as tf

from gptfl_tff import federated
from gptfl_tff.orchestration import overhead

_SHAPE = (5, 3)


def _model():
  return tf.keras.Sequential([
      tf.keras.layers.Input(_SHAPE),
      tf.keras.layers.GRU(4),
      tf.keras.layers.Dense(2, kernel_initializer='zeros'),
  ])


class OverheadTest(tf.test.TestCase):

  def test_local_trainer_learns_and_resets_momentum(self):
    trainer = overhead.create_local_trainer(
        _model, federated.ProcessConfig(client_learning_rate=0.5))
    x = np.random.default_rng(0).normal(size=(16,) + _SHAPE).astype(np.float32)
    y = (x[:, :, 0].mean(1) > 0).astype(np.int32)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)
    start = _model().get_weights()
    new, n = trainer(start, ds)
    self.assertEqual(n, 16)
    self.assertNotAllClose(new[-2], start[-2])
    again, _ = trainer(start, ds)
    for a, b in zip(new, again):  # Same start, momentum reset: same result.
      self.assertAllClose(a, b, atol=1e-6)

  def test_measure_reports_every_round(self):
    store = federated.ClientStore(self.create_tempdir().full_path, _SHAPE)
    rng = np.random.default_rng(0)
    for c in ('a', 'b'):
      store.write(c, rng.normal(size=(8,) + _SHAPE), rng.integers(0, 2, 8))
    result = overhead.measure(
        _model, store, federated.ProcessConfig(), epochs=1, batch_size=4,
        rounds=2, threads=2)
    for times in (result.tff_seconds, result.tff_python_datasets_seconds,
                  result.serial_floor_seconds, result.parallel_floor_seconds):
      self.assertLen(times, 2)
      self.assertTrue(all(t > 0 for t in times))
    self.assertAllClose(result.parallel_ratio,
                        result.tff_median / result.parallel_floor_median)
    self.assertEqual(result.threads, 2)


if __name__ == '__main__':
  tf.test.main()
