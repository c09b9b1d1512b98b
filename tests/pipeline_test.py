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
"""Tests for gptfl_tff.pipeline: the whole chain on tiny data."""

import json
import os

import tensorflow as tf

from gptfl_tff import federated_experiment
from gptfl_tff import pipeline
from gptfl_tff import pretrain
from gptfl_tff.generators import espeak
from gptfl_tff.generators import flite
from tests import fixtures


def _config(data, out, rounds=2, epochs=1):
  return pipeline.PipelineConfig(
      experiment=federated_experiment.ExperimentConfig(
          data_dir=data, rounds=rounds, clients_per_round=3, eval_every=1,
          client_epochs=1),
      output_dir=out,
      prompts_per_label=2,
      gen_records_per_shard=7,
      pretraining=pretrain.PretrainConfig(epochs=epochs, batch_size=8),
  )


class PipelineTest(tf.test.TestCase):

  def test_end_to_end_then_resume_skips_and_rejects_changes(self):
    if not (flite.is_available() or espeak.is_available()):
      self.skipTest('no speech engine installed (tools/setup.sh)')
    data = self.create_tempdir().full_path
    fixtures.write_fsdd_folder(data, digits=range(10), indices=range(6))
    out = self.create_tempdir().full_path
    results = pipeline.run(_config(data, out))
    self.assertEqual(results['labels'], [
        'zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven',
        'eight', 'nine'])
    self.assertEqual(results['synthetic_records'], 20)
    self.assertBetween(results['gptfl_test_accuracy'], 0.0, 1.0)
    with open(os.path.join(out, 'labels.json')) as f:
      self.assertEqual(json.load(f)['client_counts'], [3] * 10)
    with open(os.path.join(out, 'synthetic', 'manifest.json')) as f:
      manifest = json.load(f)
    self.assertTrue(manifest['complete'])
    self.assertEqual(manifest['counts_per_label']['seven'], 2)
    with open(os.path.join(out, 'federated', 'metrics.csv')) as f:
      self.assertLen(f.readlines(), 3)  # header + 2 rounds
    model_time = os.path.getmtime(
        os.path.join(out, 'pretrain', 'pretrained.keras'))

    # Same settings: every stage is skipped.
    again = pipeline.run(_config(data, out))
    self.assertEqual(again, results)
    self.assertEqual(model_time, os.path.getmtime(
        os.path.join(out, 'pretrain', 'pretrained.keras')))

    # Other pretraining settings: refused, not silently reused.
    with self.assertRaisesRegex(pipeline.PipelineError,
                                'other settings.*--experiment_name'):
      pipeline.run(_config(data, out, epochs=2))


if __name__ == '__main__':
  tf.test.main()
