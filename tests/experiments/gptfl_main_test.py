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
"""Smoke tests of experiments/gptfl_main.py and evaluate_main.py."""

import json
import os

import tensorflow as tf

from tests import fixtures


class GptflMainTest(tf.test.TestCase):

  def test_chain_two_rounds_then_evaluate(self):
    data = self.create_tempdir().full_path
    fixtures.write_fsdd_folder(data, digits=range(4), indices=range(12))
    out = self.create_tempdir().full_path
    result = fixtures.run_module('experiments.gptfl_main', [
        f'--data_dir={data}', '--cache_dir=', f'--root_output_dir={out}',
        '--experiment_name=tiny', '--rounds=2', '--clients_per_round=2',
        '--gen_prompts_per_label=2', '--gen_workers=1',
        '--server_pretrain_epochs=1', '--test_speakers=carol',
    ])
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    self.assertNotIn('Traceback', result.stderr)
    run_dir = os.path.join(out, 'tiny')
    with open(os.path.join(run_dir, 'results.json')) as f:
      results = json.load(f)
    # The ASR filter is on by default: kept + dropped = prompts.
    self.assertEqual(results['prompts'], 8)
    self.assertEqual(results['synthetic_records'] +
                     sum(results['dropped_per_voice'].values()), 8)
    with open(os.path.join(run_dir, 'flags.json')) as f:
      resolved = json.load(f)
    self.assertTrue(resolved['gen_asr_filter'])
    self.assertEqual(resolved['gen_prompts_per_label'], 2)
    # Fine-tuning takes the task's fine-tuning client rate.
    self.assertEqual(resolved['client_learning_rate'], 0.01)
    self.assertEqual(resolved['gen_backend'], 'speech')

    scores_path = os.path.join(out, 'eval.json')
    evaluation = fixtures.run_module('experiments.evaluate_main', [
        f'--model_file={run_dir}/federated/final_model.keras',
        f'--data_dir={data}', '--cache_dir=', '--test_speakers=carol',
        f'--output_json={scores_path}'])
    self.assertEqual(evaluation.returncode, 0, evaluation.stderr[-3000:])
    with open(scores_path) as f:
      scores = json.load(f)
    self.assertEqual(scores['examples']['test'], 4 * 12)
    self.assertAllClose(scores['test_accuracy'],
                        scores['test[carol]_accuracy'])
    # The same evaluator as the chain's last round.
    self.assertAllClose(scores['test_accuracy'],
                        results['final']['test_accuracy'])

  def test_evaluate_needs_a_model_file(self):
    data = self.create_tempdir().full_path
    result = fixtures.run_module('experiments.evaluate_main', [
        f'--data_dir={data}', '--model_file=/nope.keras'])
    self.assertEqual(result.returncode, 2, result.stderr)
    self.assertIn("No saved model at '/nope.keras'", result.stderr)


if __name__ == '__main__':
  tf.test.main()
