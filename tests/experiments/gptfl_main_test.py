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
"""Smoke test of experiments/gptfl_main.py and evaluate_main.py."""

import json
import os

import tensorflow as tf

from tests import fixtures

def _run(module, args):
  return fixtures.run_module(module, args)


class GptflMainTest(tf.test.TestCase):

  def test_pipeline_two_rounds_then_evaluate(self):
    data = self.create_tempdir().full_path
    fixtures.write_fsdd_folder(data, indices=range(6))
    out = self.create_tempdir().full_path
    result = _run('experiments.gptfl_main', [
        f'--data_dir={data}', '--cache_dir=', f'--root_output_dir={out}',
        '--experiment_name=tiny', '--rounds=2', '--clients_per_round=3',
        '--gen_prompts_per_label=2', '--gen_workers=1',
        '--server_pretrain_epochs=1', '--split=speaker',
        '--test_speakers=carol',
    ])
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    run_dir = os.path.join(out, 'tiny')
    with open(os.path.join(run_dir, 'results.json')) as f:
      results = json.load(f)
    self.assertEqual(results['synthetic_records'], 20)
    with open(os.path.join(run_dir, 'flags.json')) as f:
      self.assertEqual(json.load(f)['gen_prompts_per_label'], 2)

    evaluation = _run('experiments.evaluate_main', [
        f'--model={run_dir}/federated/final_model.keras',
        f'--data_dir={data}', '--speakers=carol', '--max_index=2',
        f'--output_json={out}/eval.json'])
    self.assertEqual(evaluation.returncode, 0, evaluation.stderr[-3000:])
    with open(os.path.join(out, 'eval.json')) as f:
      scores = json.load(f)
    self.assertEqual(scores['examples'], 10 * 3)
    self.assertEqual(list(scores['per_speaker_accuracy']), ['carol'])
    self.assertAllClose(scores['test_accuracy'],
                        scores['per_speaker_accuracy']['carol'])

  def test_evaluate_rejects_unknown_speaker(self):
    data = self.create_tempdir().full_path
    fixtures.write_fsdd_folder(data, digits=range(2), indices=range(2))
    model = os.path.join(self.create_tempdir().full_path, 'm.keras')
    tf.keras.Sequential([tf.keras.layers.Input((94, 128)),
                         tf.keras.layers.Flatten(),
                         tf.keras.layers.Dense(10)]).save(model)
    result = _run('experiments.evaluate_main', [
        f'--model={model}', f'--data_dir={data}', '--speakers=zed'])
    self.assertNotEqual(result.returncode, 0)
    self.assertIn("Unknown speakers ['zed']", result.stderr)

if __name__ == '__main__':
  tf.test.main()
