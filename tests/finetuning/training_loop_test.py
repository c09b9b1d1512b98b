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
"""Tests for gptfl_tff.finetuning.training_loop."""

import csv
import functools
import os
import fcntl
import re
import socket
from unittest import mock

import numpy as np
import tensorflow as tf
import tensorflow_federated as tff

from gptfl_tff import runtime
from gptfl_tff.finetuning import federated
from gptfl_tff.finetuning import forms
from gptfl_tff.finetuning import training_loop


class TrainingLoopTest(tf.test.TestCase):

  def test_sample_clients_is_seeded_and_without_replacement(self):
    ids = [f'c{k}' for k in range(10)]
    a = training_loop.sample_clients(ids, 4, seed=1, round_num=3)
    self.assertEqual(a, training_loop.sample_clients(ids, 4, 1, 3))
    self.assertLen(set(a), 4)
    self.assertNotEqual(a, training_loop.sample_clients(ids, 4, 1, 4))
    self.assertEqual(training_loop.sample_clients(ids, 20, 1, 1), ids)

  def test_metrics_writer_csv_and_tensorboard_hold_each_round_once(self):
    out = self.create_tempdir().full_path
    writer = training_loop.MetricsWriter(out)
    writer.write({'round': 1, 'train_loss': 2.0, 'val_accuracy': None})
    writer.write({'round': 2, 'train_loss': 1.0, 'val_accuracy': 0.5})
    # A resumed run starts from the rows of its checkpoint (round 1) and
    # writes round 2 again: each file still holds each round once.
    resumed = training_loop.MetricsWriter(out, writer.rows[:1])
    resumed.write({'round': 2, 'train_loss': 0.75, 'val_accuracy': 0.5})
    with open(os.path.join(out, 'metrics.csv')) as f:
      rows = list(csv.DictReader(f))
    self.assertEqual(list(rows[0]), list(training_loop.CSV_COLUMNS))
    self.assertEqual([r['train_loss'] for r in rows], ['2.0', '0.75'])
    self.assertEqual([r['val_accuracy'] for r in rows], ['', '0.5'])
    events = os.listdir(os.path.join(out, 'tensorboard'))
    self.assertLen(events, 1)
    steps = {}
    for record in tf.data.TFRecordDataset(
        os.path.join(out, 'tensorboard', events[0])):
      event = tf.compat.v1.Event.FromString(record.numpy())
      for value in event.summary.value:
        steps.setdefault(value.tag, []).append(
            (event.step, round(value.simple_value, 4)))
    self.assertEqual(steps['train_loss'], [(1, 2.0), (2, 0.75)])
    self.assertEqual(steps['val_accuracy'], [(2, 0.5)])
    self.assertEqual(sorted(os.listdir(out)), ['metrics.csv', 'tensorboard'])

  def test_checkpointer_round_trip_keeps_two(self):
    out = self.create_tempdir().full_path
    state = {'w': [np.arange(6, dtype=np.float32).reshape(2, 3)],
             'step': np.int32(4), 'lr': np.float32(0.5)}
    ckpt = training_loop.Checkpointer(out, 'abc')
    self.assertIsNone(ckpt.restore(state))
    for r in (1, 2, 3):
      state['w'][0] = state['w'][0] + 1
      ckpt.save(r, state, [{'round': k} for k in range(1, r + 1)], 1.5 * r)
    self.assertLen(os.listdir(os.path.join(out, 'checkpoints')), 2)
    template = {'w': [np.zeros((2, 3), np.float32)], 'step': np.int32(0),
                'lr': np.float32(0)}
    got = ckpt.restore(template)
    self.assertEqual(got.round_num, 3)
    self.assertEqual(got.seconds, 4.5)
    self.assertEqual([r['round'] for r in got.rows], [1, 2, 3])
    self.assertAllEqual(got.state['w'][0], state['w'][0])
    self.assertEqual(got.state['step'], 4)
    self.assertIsInstance(got.state['lr'], np.float32)
    with self.assertRaisesRegex(training_loop.CheckpointError,
                                'other settings'):
      training_loop.Checkpointer(out, 'other').restore(template)
    with self.assertRaisesRegex(training_loop.CheckpointError,
                                'does not match'):
      ckpt.restore({'w': [np.zeros((3, 3), np.float32)],
                    'step': np.int32(0), 'lr': np.float32(0)})

  def test_read_metrics_round_trips_the_writer(self):
    out = self.create_tempdir().full_path
    writer = training_loop.MetricsWriter(out)
    writer.write({'round': 1, 'train_loss': 2.5, 'round_seconds': 3.0,
                  'params_down': 7, 'val_accuracy': None})
    writer.write({'round': 2, 'train_loss': 1.0, 'round_seconds': 4.5,
                  'params_down': 7, 'val_accuracy': 0.25})
    rows = training_loop.read_metrics(os.path.join(out, 'metrics.csv'))
    self.assertEqual([r['round'] for r in rows], [1, 2])
    self.assertEqual([r['params_down'] for r in rows], [7, 7])
    self.assertIsInstance(rows[0]['params_down'], int)
    self.assertEqual([r['train_loss'] for r in rows], [2.5, 1.0])
    self.assertEqual([r['val_accuracy'] for r in rows], [None, 0.25])
    self.assertIsNone(rows[0]['train_examples'])

  def test_read_metrics_reads_a_file_from_before_gradient_diversity(self):
    old = [c for c in training_loop.CSV_COLUMNS if c != 'gradient_diversity']
    path = self.create_tempfile(content=','.join(old) + '\n' + ','.join(
        '1' if c == 'round' else '' for c in old) + '\n').full_path
    (row,) = training_loop.read_metrics(path)
    self.assertEqual(row['round'], 1)
    self.assertIsNone(row['gradient_diversity'])

  def test_read_metrics_rejects_foreign_and_corrupt_files(self):
    path = self.create_tempfile(content='round,loss\n1,2\n').full_path
    with self.assertRaisesRegex(ValueError, 'lacks the columns'):
      training_loop.read_metrics(path)
    header = ','.join(training_loop.CSV_COLUMNS)
    bad = '1,oops' + ',' * (len(training_loop.CSV_COLUMNS) - 2)
    path = self.create_tempfile(content=f'{header}\n{bad}\n').full_path
    with self.assertRaisesRegex(ValueError, "line 2: column 'train_loss'"):
      training_loop.read_metrics(path)

  def test_simulation_refuses_a_round_that_leaks_outside_secure_sums(self):
    # A process whose metrics are summed in the clear although secure
    # aggregation was asked for: the audit must stop it before round 1.
    def leaky_process(model_fn, config, population):
      del config, population
      return tff.learning.algorithms.build_weighted_fed_avg(
          model_fn,
          client_optimizer_fn=tff.learning.optimizers.build_sgdm(0.01),
          server_optimizer_fn=tff.learning.optimizers.build_sgdm(1.0),
          model_aggregator=tff.learning.secure_aggregator(
              zeroing=True, clipping=False, weighted=True),
          metrics_aggregator=tff.learning.metrics.sum_then_finalize)

    model_fn = lambda: tf.keras.Sequential(
        [tf.keras.Input((4,)), tf.keras.layers.Dense(3)])
    x = np.zeros((6, 4), np.float32)
    y = np.zeros(6, np.int32)
    with mock.patch.object(federated, 'build_learning_process',
                           leaky_process):
      with self.assertRaisesRegex(forms.InsecureAggregationError,
                                  'federated_aggregate slot'):
        training_loop.run_simulation(
            model_fn, model_fn(), x, y, {'a': np.arange(6)},
            {'val': (x, y)}, federated.ProcessConfig(secure=True), 1, 2,
            training_loop.LoopConfig(rounds=1, clients_per_round=1))

  def _simulate(self, output_dir, rounds, workers=(), cache_dir=None):
    model_fn = lambda: tf.keras.Sequential([
        tf.keras.Input((4,)),
        tf.keras.layers.Dense(3, kernel_initializer='glorot_uniform')])
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 60).astype(np.int32)
    x = rng.normal(0, 0.5, (60, 4)).astype(np.float32)
    x[np.arange(60), y] += 1.0
    tf.keras.utils.set_random_seed(0)
    init = model_fn()
    parts = {f'c{k}': np.arange(k, 60, 6) for k in range(6)}
    _, state, rows = training_loop.run_simulation(
        model_fn, init, x, y, parts, {'val': (x, y)},
        federated.ProcessConfig(client_learning_rate=0.3), 1, 4,
        training_loop.LoopConfig(rounds=rounds, clients_per_round=5,
                                 output_dir=output_dir, checkpoint_every=1),
        fingerprint='two-workers', workers=workers, cache_dir=cache_dir)
    return state, rows

  def _weights(self, state):
    return tf.nest.flatten(state.global_model_weights.trainable)

  def test_two_workers_train_as_one_and_resume_after_one_dies(self):
    # One cache: the round is compiled and audited once for all four runs.
    cache = self.create_tempdir().full_path
    simulate = functools.partial(self._simulate, cache_dir=cache)
    straight, rows_one = simulate(self.create_tempdir().full_path, 3)
    self.assertGreater(rows_one[-1]['val_accuracy'],
                       rows_one[0]['val_accuracy'])  # It trained.
    out = self.create_tempdir().full_path
    first, second = runtime.Worker(), runtime.Worker()
    self.addCleanup(first.close)
    simulate(out, 1, [first.address, second.address])
    pool = runtime.WorkerPool([first.address, second.address],
                              retry_seconds=2.0)

    @tff.federated_computation(tff.FederatedType(np.int32, tff.CLIENTS))
    def total(x):
      return tff.federated_secure_sum_bitwidth(x, 8)

    self.assertEqual(pool.wrap(total)([1, 2, 3, 4]), 10)
    second.close()  # Dies between rounds: the next round names it.
    with self.assertRaisesRegex(runtime.WorkerError,
                                'stopped answering: ' + re.escape(
                                    second.address)):
      pool.wrap(total)([1, 2, 3, 4])
    with self.assertRaisesRegex(runtime.WorkerError, 'not reachable: ' +
                                re.escape(second.address)):
      simulate(out, 3, [first.address, second.address])
    back = runtime.Worker()
    self.addCleanup(back.close)
    # Rounds 2 and 3 on the restarted pair, after round 1's checkpoint.
    resumed, rows_two = simulate(out, 3, [first.address, back.address])
    for a, b in zip(self._weights(resumed), self._weights(straight)):
      self.assertAllEqual(a, b)
    self.assertEqual([r['val_accuracy'] for r in rows_one],
                     [r['val_accuracy'] for r in rows_two])

  def test_workers_must_read_the_client_data(self):
    workers = [runtime.Worker(), runtime.Worker()]
    self.addCleanup(lambda: [w.close() for w in workers])
    pool = runtime.WorkerPool([w.address for w in workers])
    with self.assertRaisesRegex(runtime.WorkerError,
                                'cannot read /nonexistent/c0.y'):
      pool.check_readable('/nonexistent/c0.y')
    path = self.create_tempfile('c0.y').full_path
    pool.check_readable(path)

  def test_only_folders_of_ended_runs_are_removed(self):
    parent = self.create_tempdir().full_path
    names = ['gptfl_clients_dead', 'gptfl_clients_running',
             'gptfl_clients_no_lock', 'gptfl_clients_other_host',
             'clients_other']
    for name in names:
      os.makedirs(os.path.join(parent, name))
    for name, host in [('gptfl_clients_dead', socket.gethostname()),
                       ('gptfl_clients_running', socket.gethostname()),
                       ('gptfl_clients_other_host', 'elsewhere'),
                       ('clients_other', socket.gethostname())]:
      with open(os.path.join(parent, name, 'owner.lock'), 'w') as f:
        f.write(host)
    # A live run holds its lock (here through another open file).
    with open(os.path.join(parent, 'gptfl_clients_running', 'owner.lock')
              ) as held:
      fcntl.flock(held, fcntl.LOCK_EX)
      removed = training_loop.remove_stale_client_folders(parent)
    self.assertEqual(removed, [os.path.join(parent, 'gptfl_clients_dead')])
    self.assertCountEqual(os.listdir(parent), names[1:])
    # A folder in use survives a sweep and goes when its run ends.
    with training_loop.client_folder(parent) as folder:
      self.assertEqual(training_loop.remove_stale_client_folders(parent), [])
      self.assertEqual(os.listdir(folder), ['owner.lock'])
    self.assertFalse(os.path.exists(folder))

  def test_bad_loop_config(self):
    with self.assertRaisesRegex(ValueError, 'rounds >= 1'):
      training_loop.LoopConfig(rounds=0, clients_per_round=1)


if __name__ == '__main__':
  tf.test.main()
