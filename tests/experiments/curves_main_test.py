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
"""Smoke test of experiments/curves_main.py on two tiny runs."""

import os

from absl import app
from absl import flags
from absl.testing import flagsaver
import tensorflow as tf

from experiments import curves_main
from gptfl_tff.finetuning import training_loop
from tests import fixtures


def _run(args):
  return fixtures.run_module('experiments.curves_main', args)


def _write_run(root, name, accuracies):
  out = os.path.join(root, name)
  writer = training_loop.MetricsWriter(out)
  for n, acc in enumerate(accuracies, start=1):
    writer.write({'round': n, 'round_seconds': 6.0, 'val_accuracy': acc})
  return out


class CurvesMainTest(tf.test.TestCase):

  def test_table_of_two_runs(self):
    root = self.create_tempdir().full_path
    a = _write_run(root, 'a', [0.2, 0.6])
    b = _write_run(root, 'b', [None, 0.4])
    md = os.path.join(root, 'table.md')
    result = _run([f'--run_dirs={a},{b}', '--checkpoints=1,2',
                   '--thresholds=0.5', f'--output_md={md}'])
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    rows = result.stdout.splitlines()
    self.assertEqual(rows[2], '| a | 2 | 6.0 | 6.0 | 20.0 | 60.0 | 60.0 (r2) '
                     '| 60.0 (r2) | 2 (0.2) |')
    self.assertEqual(rows[3], '| b | 2 | 6.0 | 6.0 | - | 40.0 | 40.0 (r2) '
                     '| 40.0 (r2) | - |')
    with open(md) as f:
      self.assertEqual(f.read(), result.stdout)

  def test_a_folder_without_metrics_is_a_usage_error(self):
    root = self.create_tempdir().full_path
    result = _run([f'--run_dirs={root}'])
    self.assertEqual(result.returncode, 2)
    self.assertIn('No metrics.csv in', result.stderr)

  def test_flag_errors(self):
    # In process: the binary's exit code is checked above.
    if not flags.FLAGS.is_parsed():
      flags.FLAGS.mark_as_parsed()
    root = self.create_tempdir().full_path
    run = _write_run(root, 'a', [0.5])
    no_eval = _write_run(root, 'b', [None])
    for values, message in [
        (dict(run_dirs=[run], thresholds=['50']),
         r'--thresholds must be fractions in \(0, 1\]'),
        (dict(run_dirs=[run], checkpoints=['x']),
         '--checkpoints must be rounds >= 1'),
        (dict(run_dirs=[no_eval]), 'no evaluated round')]:
      with self.subTest(message), flagsaver.flagsaver(**values):
        with self.assertRaisesRegex(app.UsageError, message):
          curves_main.main(['curves_main'])


if __name__ == '__main__':
  tf.test.main()
