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
"""Tests for gptfl_tff.fsdd_benchmark (settings and summary maths)."""

import csv
import json
import os

import tensorflow as tf

from gptfl_tff import federated_experiment as fe
from gptfl_tff import fsdd_benchmark


def _write_curve(path, accs):
  os.makedirs(path, exist_ok=True)
  with open(os.path.join(path, 'metrics.csv'), 'w', newline='') as f:
    w = csv.DictWriter(f, ['round', 'test_accuracy'])
    w.writeheader()
    for k, a in enumerate(accs, 1):
      w.writerow({'round': k, 'test_accuracy': a})


class FsddBenchmarkTest(tf.test.TestCase):

  def test_rounds_to_reach(self):
    self.assertEqual(fsdd_benchmark.rounds_to_reach([0.1, 0.5, 0.7], 0.5), 2)
    self.assertIsNone(fsdd_benchmark.rounds_to_reach([0.1, 0.2], 0.5))

  def test_settings(self):
    base = fe.ExperimentConfig()
    unseen = fsdd_benchmark.setting_config('unseen_lucas', base)
    self.assertEqual(unseen.test_speakers, ('lucas',))
    self.assertEqual(unseen.clients_per_round, 4)
    self.assertEqual(
        fsdd_benchmark.setting_config('scarce', base).examples_per_label, 5)
    skew = fsdd_benchmark.setting_config('skewed', base)
    self.assertEqual((skew.num_clients, skew.dirichlet_alpha), (15, 0.1))
    with self.assertRaisesRegex(ValueError, "Unknown benchmark setting 'x'"):
      fsdd_benchmark.setting_config('x', base)

  def test_summary_exact(self):
    out = self.create_tempdir().full_path
    curves = {
        'fedavg_scratch': [[0.2, 0.4, 0.6], [0.3, 0.5, 0.8]],
        'fedopt_scratch': [[0.1, 0.2, 0.3], [0.2, 0.3, 0.4]],
        'gptfl_fedavg': [[0.6, 0.7, 0.8], [0.5, 0.9, 0.9]],
        'gptfl_fedopt': [[0.5, 0.6, 0.6], [0.6, 0.8, 0.85]],
    }
    for seed in (0, 1):
      d = os.path.join(out, f'seed{seed}', 'index')
      os.makedirs(d)
      with open(os.path.join(d, 'synthetic_only.json'), 'w') as f:
        json.dump({'test_accuracy': 0.5 + 0.1 * seed}, f)
      for m, c in curves.items():
        _write_curve(os.path.join(d, m), c[seed])
    config = fsdd_benchmark.BenchmarkConfig(
        data_dir='', output_dir=out, seeds=(0, 1), settings=('index',))
    s = fsdd_benchmark.summarize(config, params_per_client=10,
                                 clients_per_round={'index': 5})['index']
    self.assertAllClose(s['synthetic_only']['mean'], 0.55)
    self.assertAllClose(s['gptfl_fedavg']['mean'], 0.85)
    self.assertAllClose(s['gptfl_fedavg']['std'], 0.05)
    self.assertEqual(s['gptfl_fedavg']['rounds_to_fedavg_final'], [1, 2])
    self.assertAllClose(s['gptfl_fedavg']['rounds_to_fedavg_final_mean'], 1.5)
    self.assertAllClose(s['gptfl_fedavg']['params_to_fedavg_final_mean'],
                        1.5 * 2 * 10 * 5)
    self.assertEqual(s['fedopt_scratch']['reached'], '0/2')
    self.assertEqual(s['gptfl_fedopt']['rounds_to_fedavg_final'], [2, 2])
    self.assertEqual(s['fedavg_scratch']['rounds_to_fedavg_final'], [3, 3])
    table = fsdd_benchmark.format_markdown({'index': s}, rounds=3)
    self.assertIn('| GPT-FL + FedAvg | 85.0 +- 5.0 | 0.800, 0.900 | 1.5; 2/2 '
                  '| 0.0M |', table)
    self.assertIn('| FedOpt from scratch | 35.0 +- 5.0 | 0.300, 0.400 | -; 0/2 '
                  '|  |', table)


if __name__ == '__main__':
  tf.test.main()
