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
"""Tests for gptfl_tff.training_loop."""

import csv
import os

import numpy as np
import tensorflow as tf
import tensorflow_federated as tff

from gptfl_tff import training_loop


class TrainingLoopTest(tf.test.TestCase):

  def test_sample_clients_is_seeded_and_without_replacement(self):
    ids = [f'c{k}' for k in range(10)]
    a = training_loop.sample_clients(ids, 4, seed=1, round_num=3)
    self.assertEqual(a, training_loop.sample_clients(ids, 4, 1, 3))
    self.assertLen(set(a), 4)
    self.assertNotEqual(a, training_loop.sample_clients(ids, 4, 1, 4))
    self.assertEqual(training_loop.sample_clients(ids, 20, 1, 1), ids)

  def test_metrics_writer_csv(self):
    out = self.create_tempdir().full_path
    writer = training_loop.MetricsWriter(out)
    writer.write({'round': 1, 'train_loss': 2.0, 'test_accuracy': None})
    writer.write({'round': 2, 'train_loss': 1.0, 'test_accuracy': 0.5})
    with open(os.path.join(out, 'metrics.csv')) as f:
      rows = list(csv.DictReader(f))
    self.assertEqual(list(rows[0]), list(training_loop.CSV_COLUMNS))
    self.assertEqual([r['train_loss'] for r in rows], ['2.0', '1.0'])
    self.assertEqual([r['test_accuracy'] for r in rows], ['', '0.5'])
    self.assertNotEmpty(os.listdir(os.path.join(out, 'tensorboard')))
    self.assertEqual(
        sorted(f for f in os.listdir(out)), ['metrics.csv', 'tensorboard']
    )

  def test_read_metrics_round_trips_the_writer(self):
    out = self.create_tempdir().full_path
    writer = training_loop.MetricsWriter(out)
    writer.write({'round': 1, 'train_loss': 2.5, 'round_seconds': 3.0,
                  'params_down': 7, 'test_accuracy': None})
    writer.write({'round': 2, 'train_loss': 1.0, 'round_seconds': 4.5,
                  'params_down': 7, 'test_accuracy': 0.25})
    rows = training_loop.read_metrics(os.path.join(out, 'metrics.csv'))
    self.assertEqual([r['round'] for r in rows], [1, 2])
    self.assertEqual([r['params_down'] for r in rows], [7, 7])
    self.assertIsInstance(rows[0]['params_down'], int)
    self.assertEqual([r['train_loss'] for r in rows], [2.5, 1.0])
    self.assertEqual([r['test_accuracy'] for r in rows], [None, 0.25])
    self.assertIsNone(rows[0]['train_examples'])

  def test_read_metrics_rejects_foreign_and_corrupt_files(self):
    path = self.create_tempfile(content='round,loss\n1,2\n').full_path
    with self.assertRaisesRegex(ValueError, 'lacks the columns'):
      training_loop.read_metrics(path)
    header = ','.join(training_loop.CSV_COLUMNS)
    bad = '1,oops' + ',' * (len(training_loop.CSV_COLUMNS) - 2)
    path = self.create_tempfile(content=f'{header}\n{bad}\n').full_path
    with self.assertRaisesRegex(ValueError, "line 2: column 'train_loss'"):
      training_loop.read_metrics(path)

  def test_evaluator_is_exact(self):
    model_fn = lambda: tf.keras.Sequential(
        [tf.keras.layers.Input((2,)), tf.keras.layers.Dense(2)])
    x = np.array([[1, 0], [0, 1], [1, 1]], np.float32)
    y = np.array([0, 1, 1], np.int32)
    evaluator = training_loop.create_evaluator(model_fn, x, y, batch_size=2)
    # Identity kernel: logits = x, so argmax is right for rows 0 and 1, and
    # row 2 ties (argmax 0, wrong).
    weights = tff.learning.models.ModelWeights(
        trainable=[np.eye(2, dtype=np.float32), np.zeros(2, np.float32)],
        non_trainable=[],
    )
    metrics = evaluator(weights)
    self.assertAllClose(metrics['test_accuracy'], 2 / 3)
    expected_loss = np.mean([
        np.log(1 + np.exp(-1)), np.log(1 + np.exp(-1)), np.log(2)])
    self.assertAllClose(metrics['test_loss'], expected_loss, rtol=1e-5)

  def test_bad_loop_config(self):
    with self.assertRaisesRegex(ValueError, 'rounds >= 1'):
      training_loop.LoopConfig(rounds=0, clients_per_round=1)


if __name__ == '__main__':
  tf.test.main()
