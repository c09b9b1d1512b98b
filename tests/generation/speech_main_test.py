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
"""Smoke test of generation/speech_main.py: split jobs, then resume."""

import json
import os

import tensorflow as tf

from gptfl_tff.generators import flite
from tests import fixtures


def _run(args):
  return fixtures.run_module('generation.speech_main', args)


class SpeechMainTest(tf.test.TestCase):

  def test_two_jobs_then_rerun(self):
    if not flite.is_available():
      self.skipTest('flite not installed (tools/setup.sh)')
    out = self.create_tempdir().full_path
    first = _run(['--gen_labels=yes,no', '--gen_prompts_per_label=3',
                  '--gen_voice_mix=flite', f'--gen_output_dir={out}',
                  '--gen_records_per_shard=2', '--num_shards=2',
                  '--shard_index=0'])
    self.assertEqual(first.returncode, 0, first.stderr[-2000:])
    self.assertIn('wrote 2 shard(s)', first.stdout)
    second = _run([f'--gen_prompts_path={out}/prompts.jsonl',
                   f'--gen_output_dir={out}', '--gen_records_per_shard=2',
                   '--num_shards=2', '--shard_index=1'])
    self.assertEqual(second.returncode, 0, second.stderr[-2000:])
    with open(os.path.join(out, 'manifest.json')) as f:
      manifest = json.load(f)
    self.assertTrue(manifest['complete'])
    self.assertEqual(manifest['counts_per_label'], {'no': 3, 'yes': 3})
    rerun = _run([f'--gen_prompts_path={out}/prompts.jsonl',
                  f'--gen_output_dir={out}', '--gen_records_per_shard=2'])
    self.assertIn('wrote 0 shard(s), skipped 3 complete', rerun.stdout)

  def test_flag_errors(self):
    result = _run(['--gen_output_dir=/tmp/x'])
    self.assertNotEqual(result.returncode, 0)
    self.assertIn('exactly one of --gen_labels', result.stderr)


if __name__ == '__main__':
  tf.test.main()
