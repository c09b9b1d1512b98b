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
"""Tests for gptfl_tff.orchestration.plots."""

import json
import os

import tensorflow as tf

from gptfl_tff.finetuning import federated_experiment
from gptfl_tff.finetuning import training_loop
from gptfl_tff.orchestration import plots


def _rows(accuracies, params=100, diversity=None):
  rows = []
  for i, acc in enumerate(accuracies, start=1):
    row = dict.fromkeys(training_loop.CSV_COLUMNS)
    row.update(round=i, train_loss=1.0, train_accuracy=0.5,
               train_examples=10, round_seconds=1.0, params_down=params,
               params_up=params, cumulative_params_down=i * params,
               cumulative_params_up=i * params, val_accuracy=acc,
               test_accuracy=acc, gradient_diversity=diversity)
    rows.append(row)
  return rows


def _write_run(folder, rows, privacy=None):
  writer = training_loop.MetricsWriter(os.path.join(folder, 'federated'))
  os.makedirs(os.path.join(folder, 'federated'), exist_ok=True)
  for row in rows:
    writer.write(row)
  if privacy:
    with open(os.path.join(folder, 'federated',
                           federated_experiment.PRIVACY_FILE), 'w') as f:
      json.dump(privacy, f)
  return folder


class PlotsTest(tf.test.TestCase):

  def test_to_target_and_series_follow_the_rows(self):
    rows = _rows([0.2, None, 0.6, 0.9], params=50)
    self.assertEqual(plots.to_target(rows, 0.5), (3, 300))
    self.assertEqual(plots.to_target(rows, 0.9), (4, 400))
    self.assertIsNone(plots.to_target(rows, 0.95))
    xs, ys = plots.series(rows, 'params', 'val_accuracy')
    self.assertAllEqual(xs, [100, 300, 400])
    self.assertAllClose(ys, [0.2, 0.6, 0.9])
    xs, _ = plots.series(rows, 'round', 'val_accuracy')
    self.assertAllEqual(xs, [1, 3, 4])

  def test_write_all_draws_what_the_runs_hold(self):
    root = self.create_tempdir().full_path
    dirs = [
        _write_run(os.path.join(root, 'a0'), _rows([0.3, 0.6], diversity=0.5),
                   {'epsilon': 1.0}),
        _write_run(os.path.join(root, 'a1'), _rows([0.4, 0.8], diversity=0.7),
                   {'epsilon': 8.0}),
        _write_run(os.path.join(root, 'b'), _rows([0.1, 0.2])),
    ]
    runs = plots.load_runs(dirs, ['A', 'A', 'B'])
    self.assertEqual(runs[1].privacy, {'epsilon': 8.0})
    self.assertIsNone(runs[2].privacy)
    out = os.path.join(root, 'plots')
    written = plots.write_all(runs, out, target=0.5)
    self.assertEqual(sorted(os.path.basename(p) for p in written), sorted([
        plots.ACCURACY_ROUNDS, plots.ACCURACY_PARAMS, plots.TO_TARGET,
        plots.DIVERSITY, plots.PRIVACY]))
    for path in written:
      with open(path, 'rb') as f:
        self.assertEqual(f.read(8), b'\x89PNG\r\n\x1a\n')
    self.assertEqual(sorted(os.listdir(out)),
                     sorted(os.path.basename(p) for p in written))
    # Without diversity, privacy or a target, those plots are not drawn.
    plain = plots.write_all(runs[2:], os.path.join(root, 'plain'))
    self.assertEqual(sorted(os.path.basename(p) for p in plain),
                     sorted([plots.ACCURACY_ROUNDS, plots.ACCURACY_PARAMS]))

  def test_labels_must_match_the_runs(self):
    root = self.create_tempdir().full_path
    run = _write_run(os.path.join(root, 'a'), _rows([0.5]))
    with self.assertRaisesRegex(ValueError, 'one label per run'):
      plots.load_runs([run], ['A', 'B'])
    with self.assertRaisesRegex(FileNotFoundError, 'no metrics.csv'):
      plots.load_runs([root])


if __name__ == '__main__':
  tf.test.main()
