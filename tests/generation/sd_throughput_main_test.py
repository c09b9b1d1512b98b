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
"""Smoke test of generation/sd_throughput_main.py on the tiny stand-in."""

import json
import os

import tensorflow as tf

from tests import fixtures


def _run(args):
  return fixtures.run_module('generation.sd_throughput_main', args)


class SdThroughputMainTest(tf.test.TestCase):

  def test_tiny_run_writes_flags_and_timings(self):
    root = self.create_tempdir().full_path
    result = _run(['--gen_tiny_random_model', '--gen_device=cpu',
                   '--gen_resolutions=16', '--gen_batch_sizes=1,2',
                   '--gen_steps=1', f'--root_output_dir={root}',
                   '--experiment_name=t'])
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    out = os.path.join(root, 't')
    with open(os.path.join(out, 'timings.json')) as f:
      timings = json.load(f)
    self.assertEqual(timings['device'], 'cpu')
    self.assertEqual([t['batch_size'] for t in timings['timings']], [1, 2])
    with open(os.path.join(out, 'flags.json')) as f:
      self.assertEqual(json.load(f)['gen_steps'], ['1'])
    self.assertTrue(os.path.exists(os.path.join(out, 'timings.md')))

  def test_flag_errors(self):
    result = _run(['--gen_resolutions=500'])
    self.assertNotEqual(result.returncode, 0)
    self.assertIn('multiples of 8', result.stderr)
    result = _run(['--gen_guidance_scales=0.5'])
    self.assertNotEqual(result.returncode, 0)
    self.assertIn('>= 1', result.stderr)


if __name__ == '__main__':
  tf.test.main()
