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
"""Smoke test of experiments/image_main.py: FedAvg baseline, two rounds."""

import csv
import json
import os

import tensorflow as tf

from tests import fixtures

from tests.tasks import images_test

def _run(args):
  return fixtures.run_module('experiments.image_main', args)


class ImageMainTest(tf.test.TestCase):

  def test_baseline_two_rounds(self):
    data = images_test._write_folder(  # pylint: disable=protected-access
        self.create_tempdir().full_path, per_class=10)
    out = self.create_tempdir().full_path
    result = _run([f'--data_dir={data}', '--num_clients=3',
                   '--clients_per_round=2', '--rounds=2', '--eval_every=1',
                   '--min_client_examples=3',
                   '--algorithm=fedopt', '--server_learning_rate=0.01',
                   f'--root_output_dir={out}', '--experiment_name=b'])
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    with open(os.path.join(out, 'b', 'metrics.csv')) as f:
      self.assertLen(list(csv.DictReader(f)), 2)
    with open(os.path.join(out, 'b', 'flags.json')) as f:
      self.assertEqual(json.load(f)['algorithm'], 'fedopt')

  def test_conflicting_generators(self):
    result = _run(['--gen_model=x', '--gen_tiny_random_model'])
    self.assertNotEqual(result.returncode, 0)
    self.assertIn('--gen_model or --gen_tiny_random_model', result.stderr)
    result = _run(['--gen_backend=keras_cv', '--gen_tiny_random_model'])
    self.assertNotEqual(result.returncode, 0)
    self.assertIn('use --gen_keras_cv_weights', result.stderr)
    result = _run(['--gen_backend=keras_cv', '--gen_resolution=600'])
    self.assertNotEqual(result.returncode, 0)
    self.assertIn('multiple of 128', result.stderr)


if __name__ == '__main__':
  tf.test.main()
