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
"""Tests for gptfl_tff.orchestration.voices: calibration on tiny data."""

import glob
import json
import os
from unittest import mock

from absl.testing import parameterized
import tensorflow as tf

from gptfl_tff.finetuning import federated_experiment
from gptfl_tff.generators import pico
from gptfl_tff.generators import registry
from gptfl_tff.orchestration import chain
from gptfl_tff.orchestration import voices
from gptfl_tff.pretraining import pretrain
from gptfl_tff.prompting import prompts
from gptfl_tff.tasks import base
from tests import fixtures


def _template(root, out):
  fixtures.write_fsdd_folder(root, digits=range(3), indices=range(12))
  data = base.DataConfig(data_dir=os.path.join(root, 'recordings'))
  return chain.ChainConfig(
      experiment=federated_experiment.ExperimentConfig.for_task(
          'fsdd', finetune=True, data=data, rounds=3, clients_per_round=2),
      output_dir=out, prompts_per_label=6,
      generator=registry.GeneratorConfig(records_per_shard=9, workers=1),
      pretraining=pretrain.PretrainConfig(epochs=1, batch_size=4))


class VoicesTest(tf.test.TestCase, parameterized.TestCase):

  def test_a_mix_and_filter_run_the_chain_and_rank_on_validation(self):
    # One mix, not the default one (two chain runs cost 35 s more; ranking
    # several rows is test_summary_ranks_on_validation_not_test's).
    if not pico.is_available():
      self.skipTest('Pico not installed (tools/setup.sh)')
    root = self.create_tempdir().full_path
    out = self.create_tempdir().full_path
    config = voices.CalibrationConfig(
        chain=_template(root, out), output_dir=out,
        mixes=('pico_accented',), asr_filters=(True,), seeds=(0,))
    voices.run(config)
    table = voices.write_summary(config)
    with open(os.path.join(out, 'summary.json')) as f:
      summary = json.load(f)
    accs = {}
    for row, mix in zip(summary['rows'], config.mixes):
      folder = voices.run_dir(config, 0, mix, True)
      with open(os.path.join(folder, chain.RESULTS)) as f:
        results = json.load(f)
      # One federated round, not the template's three.
      self.assertEqual(results['rounds'], 1)
      self.assertEqual(row['kept_share'], results['synthetic_records'] / 18)
      # Ranked on validation accuracy, never test.
      self.assertEqual(row['val_accuracy'],
                       [results['synthetic_only']['val_accuracy']])
      accs[mix] = results['synthetic_only']['val_accuracy']
    # Each mix reached its prompts, the filter the generator.
    shared = os.path.join(out, 'seed0', 'shared')
    engines = []
    for path in sorted(glob.glob(os.path.join(shared, 'prompts-*'))):
      with open(os.path.join(path, 'prompts.jsonl')) as f:
        engines.append(sorted(
            {prompts.Prompt.from_json(l).params['engine'] for l in f}))
    self.assertEqual(engines, [['pico']])
    paths = glob.glob(os.path.join(shared, 'synthetic-*'))
    self.assertLen(paths, 1)
    for path in paths:
      with open(os.path.join(path, 'manifest.json')) as f:
        self.assertTrue(json.load(f)['generator']['generator.asr_filter'])
    self.assertEqual(summary['best']['mix'], max(accs, key=accs.get))
    self.assertIn('| pico_accented | on |', table)
    self.assertNotIn('test', table)

  def test_summary_ranks_on_validation_not_test(self):
    out = self.create_tempdir().full_path
    config = voices.CalibrationConfig(
        chain=chain.ChainConfig(
            experiment=federated_experiment.ExperimentConfig.for_task('fsdd'),
            output_dir=out),
        output_dir=out, mixes=('flite', 'pico_accented'), asr_filters=(True,))
    for mix, (val, test) in zip(config.mixes, ((0.2, 0.8), (0.9, 0.1))):
      folder = voices.run_dir(config, 0, mix, True)
      os.makedirs(folder)
      with open(os.path.join(folder, chain.RESULTS), 'w') as f:
        json.dump({'synthetic_only': {'val_accuracy': val,
                                      'test_accuracy': test},
                   'synthetic_records': 9, 'prompts': 18}, f)
    summary = voices.summarize(config)
    self.assertEqual([r['val_accuracy'] for r in summary['rows']],
                     [[0.2], [0.9]])
    self.assertEqual(summary['best']['mix'], 'pico_accented')
    self.assertEqual(summary['rows'][0]['kept_share'], 0.5)

  @parameterized.named_parameters(
      ('unknown_group', dict(mixes=('flite', 'nosuch')), 'each group once'),
      ('repeated', dict(mixes=('flite', 'flite')), 'repeats'),
      ('no_seeds', dict(seeds=()), 'calib_seeds'),
  )
  def test_bad_settings_name_the_flag(self, kwargs, message):
    with self.assertRaisesRegex(ValueError, message):
      voices.CalibrationConfig(chain=chain.ChainConfig(
          experiment=federated_experiment.ExperimentConfig.for_task('fsdd'),
          output_dir='/tmp/x'), output_dir='/tmp/x', **kwargs)

  def test_a_mix_with_a_missing_group_is_refused(self):
    out = self.create_tempdir().full_path
    with mock.patch.dict(prompts.VOICE_GROUPS, {
        'nowhere': prompts.VoiceGroup('no-such-engine', ('x',))}):
      config = voices.CalibrationConfig(
          chain=chain.ChainConfig(
              experiment=federated_experiment.ExperimentConfig.for_task(
                  'fsdd'), output_dir=out),
          output_dir=out, mixes=('flite:0.5,nowhere:0.5',), seeds=(0,))
      with self.assertRaisesRegex(voices.CalibrationError,
                                  r"groups \['nowhere'\] have no installed"):
        voices.run_one(config, 0, 'flite:0.5,nowhere:0.5', True)

  def test_mix_names(self):
    self.assertEqual(voices.mix_name('flite'), 'flite')
    self.assertEqual(voices.mix_name('flite:0.5,pico:0.5'),
                     'flite0.5+pico0.5')


if __name__ == '__main__':
  tf.test.main()
