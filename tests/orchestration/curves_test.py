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
"""Tests for gptfl_tff.curves."""

import os

from absl.testing import parameterized
import tensorflow as tf

from gptfl_tff.finetuning import training_loop
from gptfl_tff.orchestration import curves

# Six rounds, evaluated at 2, 4, 6; round times 10, 20, ..., 60 s.
_ACCURACY = {2: 0.30, 4: 0.55, 6: 0.55}


def _rows():
  return [{'round': n, 'round_seconds': 10.0 * n,
           'val_accuracy': _ACCURACY.get(n)} for n in range(1, 7)]


class CurvesTest(tf.test.TestCase, parameterized.TestCase):

  def test_summary_is_exact(self):
    s = curves.summarize(_rows(), 'run', checkpoints=(2, 3, 4),
                         thresholds=(0.3, 0.5, 0.9))
    self.assertEqual(s.name, 'run')
    self.assertEqual(s.rounds, 6)
    self.assertEqual(s.median_round_seconds, 35.0)
    self.assertEqual(s.mean_round_seconds, 35.0)
    self.assertEqual(s.round_minutes, 210 / 60)
    self.assertEqual(s.accuracy_at, {2: 0.30, 4: 0.55})  # 3 not evaluated.
    self.assertEqual((s.last_round, s.last_accuracy), (6, 0.55))
    self.assertEqual((s.best_round, s.best_accuracy), (4, 0.55))  # 1st tie.
    self.assertEqual(s.reached[0.3], curves.Reached(round=2, minutes=0.5))
    # 10 + 20 + 30 + 40 s of rounds.
    self.assertEqual(s.reached[0.5],
                     curves.Reached(round=4, minutes=100 / 60))
    self.assertIsNone(s.reached[0.9])

  def test_markdown_table(self):
    s = curves.summarize(_rows(), 'run', (2, 3), (0.5, 0.9))
    table = curves.to_markdown([s], (2, 3), (0.5, 0.9))
    self.assertEqual(table.splitlines(), [
        '| run | rounds | s / round (median) | s / round (mean) | acc r2 | '
        'acc r3 | last | best | first >= 50.0% (min) | '
        'first >= 90.0% (min) |',
        '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | '
        '---: |',
        '| run | 6 | 35.0 | 35.0 | 30.0 | - | 55.0 (r6) | 55.0 (r4) | '
        '4 (1.7) | - |',
    ])

  @parameterized.named_parameters(
      ('empty', [], 'no rounds'),
      ('gap', [{'round': 1}, {'round': 3}], 'rounds must be 1, 2, 3'),
      ('no_time', [{'round': 1, 'round_seconds': None,
                    'val_accuracy': 0.5}], 'without a round_seconds'),
      ('no_eval', [{'round': 1, 'round_seconds': 1.0,
                    'val_accuracy': None}], 'no evaluated round'),
  )
  def test_bad_curves(self, rows, message):
    with self.assertRaisesRegex(ValueError, message):
      curves.summarize(rows, 'run')

  def test_load_reads_the_writers_file(self):
    out = os.path.join(self.create_tempdir().full_path, 'fedavg_a05')
    writer = training_loop.MetricsWriter(out)
    for row in _rows():
      writer.write(row)
    s = curves.load(out, (4,), (0.5,))
    self.assertEqual(s.name, 'fedavg_a05')
    self.assertEqual(s.accuracy_at, {4: 0.55})
    self.assertEqual(s.reached[0.5].round, 4)

  def test_load_without_metrics(self):
    with self.assertRaisesRegex(FileNotFoundError, 'holds no metrics.csv'):
      curves.load(self.create_tempdir().full_path)


if __name__ == '__main__':
  tf.test.main()
