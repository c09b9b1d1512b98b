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
"""Smoke tests of experiments/federated_main.py as a user runs it."""

import json
import os

import tensorflow as tf

from gptfl_tff.finetuning import training_loop
from tests import fixtures


def _run(args, env=None):
  return fixtures.run_module('experiments.federated_main', args, env)


class FederatedMainTest(tf.test.TestCase):

  def test_two_rounds_write_flags_metrics_and_model(self):
    data = self.create_tempdir().full_path
    fixtures.write_fsdd_folder(data, digits=range(4), indices=range(12))
    out = self.create_tempdir().full_path
    result = _run([
        f'--data_dir={data}', '--cache_dir=', '--rounds=2',
        '--clients_per_round=2', '--test_speakers=carol',
        f'--root_output_dir={out}', '--experiment_name=smoke',
        '--algorithm=fedopt', '--server_learning_rate=0.01',
    ])
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    self.assertNotIn('Traceback', result.stderr)
    self.assertNotIn('Exception ignored', result.stderr)
    run_dir = os.path.join(out, 'smoke')
    with open(os.path.join(run_dir, 'flags.json')) as f:
      resolved = json.load(f)
    self.assertEqual(resolved['algorithm'], 'fedopt')
    self.assertEqual(resolved['test_speakers'], ['carol'])
    # Unset flags are written with the task's defaults.
    self.assertEqual(resolved['client_learning_rate'], 0.05)
    self.assertEqual(resolved['model'], 'keyword')
    self.assertNotIn('gen_backend', resolved)
    rows = training_loop.read_metrics(
        os.path.join(run_dir, 'federated', 'metrics.csv'))
    self.assertEqual([r['round'] for r in rows], [1, 2])
    # Train speakers alice and bob: 4 digits x (takes 0-4 and 10-11).
    self.assertEqual(rows[0]['train_examples'], 2 * 4 * 7)
    for r in rows:
      self.assertEqual(r['params_down'], 2 * 281_674)
    self.assertEqual(rows[1]['cumulative_params_up'], 4 * 281_674)
    self.assertTrue(os.path.exists(
        os.path.join(run_dir, 'federated', 'final_model.keras')))
    # The summary table printed at the end holds the last row's numbers.
    self.assertIn(f"{rows[-1]['test_accuracy']:.4g}", result.stdout)

  def test_missing_data_is_one_line_and_exit_2(self):
    env = {k: v for k, v in os.environ.items() if k != 'GPTFL_DATA_DIR'}
    result = _run(['--rounds=1'], env)
    self.assertEqual(result.returncode, 2)
    self.assertEqual(result.stderr.count('\n'), 1, result.stderr)
    self.assertIn('--data_dir', result.stderr)
    self.assertNotIn('Traceback', result.stderr)

  def test_missing_initial_model_is_one_line_and_exit_2(self):
    data = self.create_tempdir().full_path
    result = _run([f'--data_dir={data}', '--initial_model=/nope.keras',
                   f'--root_output_dir={data}'])
    self.assertEqual(result.returncode, 2, result.stderr)
    self.assertIn("No saved model at '/nope.keras'", result.stderr)
    self.assertEqual(result.stderr.count('\n'), 1, result.stderr)


if __name__ == '__main__':
  tf.test.main()
