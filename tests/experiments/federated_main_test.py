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
"""Smoke test of experiments/federated_main.py: two rounds, tiny data."""

import csv
import json
import os

import tensorflow as tf

from tests import fixtures

def _run(args, env=None):
  return fixtures.run_module('experiments.federated_main', args, env)


class FederatedMainTest(tf.test.TestCase):

  def test_two_rounds_write_flags_metrics_and_model(self):
    data = self.create_tempdir().full_path
    fixtures.write_fsdd_folder(data, indices=range(7))
    out = self.create_tempdir().full_path
    result = _run([
        f'--data_dir={data}', '--cache_dir=', '--rounds=2',
        '--clients_per_round=2', '--split=speaker', '--test_speakers=carol',
        f'--root_output_dir={out}', '--experiment_name=smoke',
        '--algorithm=fedopt', '--server_learning_rate=0.01',
    ])
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    run_dir = os.path.join(out, 'smoke')
    with open(os.path.join(run_dir, 'flags.json')) as f:
      resolved = json.load(f)
    self.assertEqual(resolved['algorithm'], 'fedopt')
    self.assertEqual(resolved['test_speakers'], ['carol'])
    with open(os.path.join(run_dir, 'metrics.csv')) as f:
      rows = list(csv.DictReader(f))
    self.assertEqual([r['round'] for r in rows], ['1', '2'])
    # Train speakers alice and bob: 10 digits x 7 takes each.
    self.assertEqual(rows[0]['train_examples'], '140')
    for r in rows:
      self.assertBetween(float(r['test_accuracy']), 0.0, 1.0)
      self.assertEqual(int(r['params_down']), 2 * 281_674)
    self.assertEqual(int(rows[1]['cumulative_params_up']), 4 * 281_674)
    self.assertTrue(os.path.exists(os.path.join(run_dir, 'final_model.keras')))

  def test_missing_data_is_a_usage_error(self):
    env = {k: v for k, v in os.environ.items() if k != 'GPTFL_DATA_DIR'}
    result = _run(['--rounds=1'], env)
    self.assertNotEqual(result.returncode, 0)
    self.assertIn('--data_dir', result.stderr)

  def test_speaker_split_needs_test_speakers(self):
    result = _run(['--data_dir=/nonexistent', '--split=speaker'])
    self.assertNotEqual(result.returncode, 0)
    self.assertIn('--test_speakers', result.stderr)


if __name__ == '__main__':
  tf.test.main()
