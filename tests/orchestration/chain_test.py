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
"""Tests for gptfl_tff.orchestration.chain: the one chain on tiny data."""

import dataclasses
import json
import os

import numpy as np
import tensorflow as tf

from gptfl_tff import errors
from gptfl_tff import stages
from gptfl_tff import tasks
from gptfl_tff.finetuning import federated_experiment
from gptfl_tff.generators import espeak
from gptfl_tff.generators import flite
from gptfl_tff.generators import registry
from gptfl_tff.orchestration import chain
from gptfl_tff.pretraining import pretrain
from gptfl_tff.prompting import expanders
from gptfl_tff.prompting import llm
from gptfl_tff.prompting import prompts
from gptfl_tff.tasks import base
from tests import fixtures
from tests.tasks import images_test


def _accuracy(path, task, data):
  """Test accuracy of a saved model, computed without the project's
  evaluator."""
  model = tf.keras.models.load_model(path, compile=False)
  test = task.load(data).test
  logits = model.predict(task.model_input(test.features), verbose=0)
  return float(np.mean(np.argmax(logits, -1) == test.labels))


class ChainTest(tf.test.TestCase):

  def test_spoken_digits_end_to_end_skip_refuse_and_redo(self):
    if not (flite.is_available() or espeak.is_available()):
      self.skipTest('no speech engine installed (tools/setup.sh)')
    root = self.create_tempdir().full_path
    # The clients hold only the digits 0-3: discovery must find exactly
    # those four names, and prompts are made for them alone.
    fixtures.write_fsdd_folder(root, digits=range(4), indices=range(12))
    data = base.DataConfig(data_dir=os.path.join(root, 'recordings'))
    out = self.create_tempdir().full_path
    config = chain.ChainConfig(
        experiment=federated_experiment.ExperimentConfig.for_task(
            'fsdd', finetune=True, data=data, rounds=2, clients_per_round=2,
            output_dir=os.path.join(out, 'federated')),
        output_dir=out, prompts_per_label=2,
        # Unfiltered: every prompt makes a record (counts below).
        generator=registry.GeneratorConfig(records_per_shard=3,
                                           asr_filter=False),
        pretraining=pretrain.PretrainConfig(epochs=1, batch_size=4))
    results = chain.run(config)
    task = tasks.get('fsdd')
    self.assertEqual(results['labels'], ['zero', 'one', 'two', 'three'])
    self.assertEqual(results['synthetic_records'], 8)
    with open(os.path.join(out, 'labels', 'labels.json')) as f:
      self.assertEqual(json.load(f)['client_counts'], [3] * 4)
    with open(os.path.join(out, 'synthetic', 'manifest.json')) as f:
      self.assertEqual(json.load(f)['counts_per_label'],
                       {'zero': 2, 'one': 2, 'two': 2, 'three': 2})
    # Speech prompts are the label words: no 2-grams to measure.
    with open(os.path.join(out, 'prompts', chain.EXPANSION)) as f:
      self.assertEqual(json.load(f),
                       {'prompts': 8, 'distinct': 4, 'distinct_2': None})
    # Template prompts' settings name no other source, as before files
    # and LLMs existed, so older stage folders are still reused.
    prompt_settings = stages.read(os.path.join(out, 'prompts'))['settings']
    self.assertFalse({'prompt_file', 'prompt_llm'} & set(prompt_settings))
    # The front end is part of pretraining's settings: a model pretrained
    # on other features is never reused.
    pretrain_settings = stages.read(os.path.join(out, 'pretrain'))['settings']
    self.assertEqual(
        {k: v for k, v in pretrain_settings.items()
         if k.startswith('features.')},
        stages.settings_of({'features': task.frontend}))
    pretrained = os.path.join(out, 'pretrain', 'pretrained.keras')
    final = os.path.join(out, 'federated', federated_experiment.FINAL_MODEL)
    self.assertAllClose(results['synthetic_only']['test_accuracy'],
                        _accuracy(pretrained, task, data))
    self.assertAllClose(results['final']['test_accuracy'],
                        _accuracy(final, task, data))
    self.assertEqual(results['rounds'], 2)
    for stage in stages.ORDER:
      self.assertTrue(stages.read(os.path.join(out, stage))['complete'])

    # Same settings: every stage is skipped, nothing is rewritten.
    times = {p: os.path.getmtime(p) for p in (pretrained, final)}
    self.assertEqual(chain.run(config), results)
    self.assertEqual(times, {p: os.path.getmtime(p) for p in times})

    # Other pretraining settings: refused, naming the setting.
    longer = dataclasses.replace(
        config, pretraining=dataclasses.replace(config.pretraining,
                                                epochs=2))
    with self.assertRaisesRegex(
        stages.StageError, r'pretraining\.epochs: 1 -> 2.*--redo_from'):
      chain.run(longer)

    # --redo_from=pretrain redoes pretraining and fine-tuning only.
    labels_time = os.path.getmtime(os.path.join(out, 'labels', 'labels.json'))
    chain.run(longer, redo_from='pretrain')
    self.assertEqual(labels_time, os.path.getmtime(
        os.path.join(out, 'labels', 'labels.json')))
    self.assertNotEqual(times[pretrained], os.path.getmtime(pretrained))
    self.assertNotEqual(times[final], os.path.getmtime(final))
    self.assertEqual(stages.read(os.path.join(out, 'pretrain'))[
        'settings']['pretraining.epochs'], 2)

  def test_image_chain_with_the_tiny_stand_in(self):
    data_dir = images_test._write_folder(  # pylint: disable=protected-access
        self.create_tempdir().full_path, per_class=10)
    out = self.create_tempdir().full_path
    # Prompts from a file in the authors' style: one drifts and is dropped.
    prompt_file = self.create_tempfile('prompts.json').full_path
    with open(prompt_file, 'w') as f:
      json.dump({f'a {c.title()}': [f'a {c} at dawn', f'a {c} at dusk',
                                    'a plane at noon']
                 for c in images_test._CLASSES}, f)  # pylint: disable=protected-access
    data = base.DataConfig(data_dir=data_dir)
    config = chain.ChainConfig(
        prompt_file=prompt_file,
        experiment=federated_experiment.ExperimentConfig.for_task(
            'cifar10', finetune=True, data=data, num_clients=3,
            clients_per_round=2, rounds=2, eval_every=1,
            min_client_examples=3, output_dir=os.path.join(out, 'federated')),
        output_dir=out, prompts_per_label=2,
        generator=registry.GeneratorConfig(
            backend=registry.Backend.TINY_DIFFUSERS, steps=1, resolution=32,
            batch_size=3, records_per_shard=8),
        pretraining=pretrain.PretrainConfig(epochs=1, batch_size=4))
    results = chain.run(config)
    task = tasks.get('cifar10')
    present = sorted(images_test._CLASSES, key=task.label_id)  # pylint: disable=protected-access
    self.assertEqual(results['labels'], present)
    texts = [p.text for p in prompts.read_jsonl(
        os.path.join(out, 'prompts', 'prompts.jsonl'))]
    self.assertCountEqual(
        texts, [f'a {c} at {t}' for c in present for t in ('dawn', 'dusk')])
    with open(os.path.join(out, 'prompts', chain.EXPANSION)) as f:
      self.assertEqual(json.load(f)['distinct'], 2 * len(present))
    with open(os.path.join(out, 'synthetic', 'manifest.json')) as f:
      self.assertEqual(json.load(f)['counts_per_label'],
                       {name: 2 for name in present})
    rows = federated_experiment.training_loop.read_metrics(
        os.path.join(out, 'federated', 'metrics.csv'))
    # ConvNet sized for CIFAR-10's ten classes, 2 clients per round.
    self.assertEqual(rows[0]['params_down'], 2 * 320_010)
    # The folder has no test split: validation only.
    self.assertNotIn('test_accuracy', results['final'])
    val = task.load(data).validation
    model = tf.keras.models.load_model(
        os.path.join(out, 'federated', federated_experiment.FINAL_MODEL),
        compile=False)
    self.assertAllClose(results['final']['val_accuracy'], np.mean(
        np.argmax(model.predict(task.model_input(val.features), verbose=0),
                  -1) == val.labels))

  def test_prompt_sources_llm_settings_cache_and_refusals(self):
    server = fixtures.serve_chat(self)
    config = chain.ChainConfig(
        experiment=federated_experiment.ExperimentConfig.for_task('cifar10'),
        output_dir=self.create_tempdir().full_path,
        prompt_llm=llm.HttpBackend(server.url, 'm'))
    image = tasks.get('cifar10')
    self.assertEqual(
        chain.expander_settings(config, image),
        {'prompt_llm': f'http:m@{server.url} temperature=1 max_tokens=40 '
                       f'query={llm.query_digest("image")}'})
    # Template prompts keep the settings (and stage folders) they had
    # before prompt files and LLMs.
    self.assertEqual(chain.expander_settings(
        dataclasses.replace(config, prompt_llm=None), image), {})
    folder = self.create_tempdir().full_path
    expander = chain.create_expander(config, ['airplane', 'cat'], folder)
    texts = [p.text for p in prompts.create_image_prompts(
        ['airplane', 'cat'], 3, seed=0, expander=expander)]
    self.assertLen(set(texts), 6)
    self.assertTrue(all(t.startswith(('A airplane seen', 'A cat seen'))
                        for t in texts))
    summary = chain.expansion_summary(expander, texts)
    self.assertEqual(summary['texts_generated'], len(server.requests))
    self.assertGreater(summary['prompts_per_second'], 0)
    self.assertAllClose(summary['distinct_2'],
                        expanders.distinct_n(texts, 2))
    self.assertTrue(os.path.exists(os.path.join(folder, 'llm_cache.jsonl')))
    with self.assertRaisesRegex(errors.UserError, 'one prompt source'):
      chain.expander_settings(
          dataclasses.replace(config, prompt_file='p.json'), image)
    with self.assertRaisesRegex(errors.UserError,
                                '--gen_prompt_file=no.json: no such file'):
      chain.expander_settings(
          dataclasses.replace(config, prompt_llm=None,
                              prompt_file='no.json'), image)
    with self.assertRaisesRegex(errors.UserError,
                                '--gen_llm apply to image and sound tasks'):
      chain.expander_settings(config, tasks.get('fsdd'))
    # Sound tasks take text prompts too; the LLM is asked for a sound.
    self.assertEqual(
        chain.expander_settings(config, tasks.get('esc50')),
        {'prompt_llm': f'http:m@{server.url} temperature=1 max_tokens=40 '
                       f'query={llm.query_digest("sound")}'})

  def test_a_label_without_synthetic_examples_is_refused(self):
    manifest = {'counts_per_label': {'one': 3, 'two': 0},
                'dropped_per_voice': {'espeak-ng:en-us': 3}}
    chain.check_every_label(manifest, ['one'], 'f')
    with self.assertRaisesRegex(
        stages.StageError,
        r"no synthetic example of \['two', 'three'\].*--nogen_asr_filter"):
      chain.check_every_label(manifest, ['one', 'two', 'three'], 'f')

  def test_speech_generator_for_an_image_task_is_refused(self):
    config = chain.ChainConfig(
        experiment=federated_experiment.ExperimentConfig.for_task('cifar10'),
        output_dir=self.create_tempdir().full_path)
    with self.assertRaisesRegex(registry.GeneratorError,
                                '--gen_backend=speech.*image'):
      chain.run(config)


if __name__ == '__main__':
  tf.test.main()
