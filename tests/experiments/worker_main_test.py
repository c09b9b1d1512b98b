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
"""Smoke tests of experiments/worker_main.py as a user runs it."""

import tensorflow as tf

from gptfl_tff import runtime
from tests import fixtures


class WorkerMainTest(tf.test.TestCase):

  def test_check_names_the_unreachable_worker(self):
    worker = runtime.Worker()
    self.addCleanup(worker.close)
    result = fixtures.run_module(
        'experiments.worker_main', [f'--workers={worker.address},localhost:1'])
    self.assertEqual(result.returncode, 2, result.stderr)
    self.assertRegex(result.stdout, f'{worker.address} +yes')
    self.assertRegex(result.stdout, 'localhost:1 +no')
    self.assertIn('not reachable: localhost:1', result.stderr)
    self.assertNotIn(worker.address, result.stderr)

  def test_neither_mode_is_a_usage_error(self):
    result = fixtures.run_module('experiments.worker_main', [])
    self.assertEqual(result.returncode, 2)
    self.assertIn('--worker_port', result.stderr)


if __name__ == '__main__':
  tf.test.main()
