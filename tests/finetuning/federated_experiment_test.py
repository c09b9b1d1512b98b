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
"""Tests for gptfl_tff.finetuning.federated_experiment.

Partitions, the stage rule, and kill-and-resume identity of a real run of
the binary.
"""

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import tensorflow as tf

from gptfl_tff import errors
from gptfl_tff import models
from gptfl_tff import stages
from gptfl_tff import tasks
from gptfl_tff.finetuning import federated_experiment as fe
from gptfl_tff.finetuning import forms
from gptfl_tff.finetuning import privacy
from gptfl_tff.finetuning import training_loop
from gptfl_tff.tasks import base
from tests import fixtures

_ROUNDS = 5


def _args(data, root, name):
  return [
      f'--data_dir={data}', '--cache_dir=', f'--rounds={_ROUNDS}',
      '--clients_per_round=2', '--checkpoint_every=1', '--eval_every=1',
      f'--root_output_dir={root}', f'--experiment_name={name}', '--seed=3',
      f'--client_store_dir={os.path.join(root, "clients")}',
  ]


def _popen(args, log):
  # Output to a file: a pipe nobody reads would block a chatty child.
  with open(log, 'a') as f:
    return subprocess.Popen(
        [sys.executable, '-m', 'experiments.federated_main'] + args,
        cwd=fixtures.REPO, env=dict(os.environ, PYTHONPATH=fixtures.REPO),
        stdout=f, stderr=subprocess.STDOUT)


def _tail(log):
  with open(log) as f:
    return f.read()[-3000:]


def _weights(run_dir):
  model = models.load_initial_model(
      os.path.join(run_dir, 'federated', fe.FINAL_MODEL))
  return [w.numpy() for w in model.weights]


class FederatedExperimentTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.data = self.create_tempdir().full_path
    fixtures.write_fsdd_folder(self.data, digits=range(4), indices=range(12))

  def test_scarce_keeps_at_most_k_per_label(self):
    labels = np.array([0, 0, 0, 1, 1, 2])
    kept = fe.scarce(labels, np.arange(6), per_label=2, seed=0)
    self.assertEqual(np.bincount(labels[kept]).tolist(), [2, 2, 1])
    self.assertAllEqual(kept, fe.scarce(labels, np.arange(6), 2, 0))

  def test_partitions_follow_config(self):
    config = fe.ExperimentConfig.for_task(
        'fsdd', data=base.DataConfig(data_dir=self.data))
    train = fe.tasks.get('fsdd').load(config.data).train
    parts = fe.create_partition(train, config)
    self.assertEqual(sorted(parts), list(fixtures.SPEAKERS))
    for speaker, idx in parts.items():
      self.assertEqual(set(train.groups[idx].tolist()), {speaker})
    scarce = fe.create_partition(
        train, dataclasses.replace(config, examples_per_label=1))
    for idx in scarce.values():
      self.assertEqual(np.bincount(train.labels[idx]).tolist(), [1] * 4)
    skew = fe.create_partition(train, dataclasses.replace(
        config, partition=fe.Partition.DIRICHLET, num_clients=3,
        min_client_examples=2))
    self.assertLen(skew, 3)
    self.assertEqual(sorted(np.concatenate(list(skew.values())).tolist()),
                     list(range(len(train))))

  def test_data_is_identified_by_content_not_path(self):
    config = fe.ExperimentConfig.for_task(
        'fsdd', data=base.DataConfig(data_dir=self.data))
    first = fe.settings(config)
    moved = os.path.join(self.create_tempdir().full_path, 'moved')
    shutil.copytree(self.data, moved)
    self.assertEqual(first, fe.settings(dataclasses.replace(
        config, data=base.DataConfig(data_dir=moved))))
    wav = os.path.join(moved, 'recordings', '0_alice_0.wav')
    with open(wav, 'wb') as f:
      f.write(fixtures.wav_bytes(fixtures.tone(1, 0, 0)))
    changed = fe.settings(dataclasses.replace(
        config, data=base.DataConfig(data_dir=moved)))
    self.assertNotEqual(first['source'], changed['source'])
    # Settings of another partition kind do not count.
    self.assertNotIn('dirichlet_alpha', first)
    self.assertEqual(first, fe.settings(dataclasses.replace(
        config, dirichlet_alpha=0.9)))
    # Nor does FedProx's mu, unless the algorithm is FedProx.
    self.assertNotIn('process.proximal_strength', first)
    self.assertEqual(first, fe.settings(dataclasses.replace(
        config, process=dataclasses.replace(config.process,
                                            proximal_strength=0.5))))
    prox = dataclasses.replace(config, process=dataclasses.replace(
        config.process, algorithm=fe.federated.Algorithm.FEDPROX))
    self.assertEqual(fe.settings(prox)['process.proximal_strength'], 0.01)

  def test_finetune_defaults_come_from_the_task(self):
    d = fe.tasks.get('fsdd').defaults
    self.assertEqual(fe.ExperimentConfig.for_task('fsdd').process
                     .client_learning_rate, d.client_learning_rate)
    self.assertEqual(fe.ExperimentConfig.for_task('fsdd', finetune=True)
                     .process.client_learning_rate,
                     d.finetune_client_learning_rate)

  def test_export_writes_an_audited_round_with_the_initial_weights(self):
    config = fe.ExperimentConfig.for_task(
        'fsdd', data=base.DataConfig(data_dir=self.data), seed=4)
    folder = os.path.join(self.create_tempdir().full_path, 'export')
    fe.export(config, folder)
    loaded, leaves = forms.load_round(folder)
    forms.check_secure(loaded)
    # The state starts from the task's model initialised with the seed.
    want = tasks.get('fsdd').create_model(config.model, 4).get_weights()
    got = [v for v in leaves if any(v.shape == w.shape for w in want)]
    self.assertTrue(any(np.array_equal(got_v, want[0]) for got_v in got))
    # A second export replaces the folder whole.
    fe.export(config, folder)
    self.assertLen(os.listdir(folder), 4)
    self.assertEmpty([n for n in os.listdir(os.path.dirname(folder))
                      if n.startswith('.export')])

  def test_dp_run_reports_the_guarantee_of_its_calibrated_noise(self):
    config = fe.ExperimentConfig.for_task(
        'fsdd', data=base.DataConfig(data_dir=self.data), rounds=2,
        clients_per_round=2, eval_every=0,
        output_dir=self.create_tempdir().full_path)
    self.assertNotIn('process.dp', fe.settings(config))  # Off: no setting.
    config = dataclasses.replace(config, process=dataclasses.replace(
        config.process, dp=privacy.DPConfig(target_epsilon=3.0, clip=0.5)))
    self.assertEqual(fe.settings(config)['process.dp.target_epsilon'], 3.0)
    fe.run(config)
    with open(os.path.join(config.output_dir, fe.PRIVACY_FILE)) as f:
      report = json.load(f)
    clients = len(fixtures.SPEAKERS)
    self.assertEqual(report['total_clients'], clients)
    self.assertAllClose(report['noise_multiplier'], privacy.noise_for_epsilon(
        3.0, 2, clients, 2, 1e-5))
    self.assertBetween(report['epsilon'], 2.97, 3.0)
    self.assertIn('without replacement', report['sampling'])
    with self.assertRaisesRegex(errors.UserError, '--dp_noise_multiplier'):
      fe.export(config, self.create_tempdir().full_path)

  def test_scaffold_is_not_exported(self):
    config = fe.ExperimentConfig.for_task('fsdd')
    config = dataclasses.replace(config, process=dataclasses.replace(
        config.process, algorithm=fe.federated.Algorithm.SCAFFOLD,
        client_momentum=0.0))
    folder = os.path.join(self.create_tempdir().full_path, 'export')
    with self.assertRaisesRegex(errors.UserError, 'SCAFFOLD is not exported'):
      fe.export(config, folder)
    self.assertFalse(os.path.exists(folder))

  def test_missing_initial_model_is_a_user_error(self):
    with self.assertRaisesRegex(models.ModelFileError, 'random init'):
      fe.run(fe.ExperimentConfig.for_task(
          'fsdd', data=base.DataConfig(data_dir=self.data),
          initial_model='/nonexistent/model.keras',
          output_dir=self.create_tempdir().full_path))

  def test_killed_run_resumes_to_the_uninterrupted_result(self):
    root = self.create_tempdir().full_path
    log = os.path.join(root, 'log.txt')
    # The uninterrupted run and the one to kill run side by side (their
    # start-ups overlap; each has its own output folder).
    whole = _popen(_args(self.data, root, 'whole'),
                   os.path.join(root, 'whole_log.txt'))

    # SIGKILL during round 3, right after round 2's checkpoint was written.
    killed_dir = os.path.join(root, 'killed')
    second = os.path.join(killed_dir, 'federated', 'checkpoints',
                          'round-000002.npz')
    child = _popen(_args(self.data, root, 'killed'), log)
    deadline = time.time() + 600
    while not os.path.exists(second) and child.poll() is None:
      self.assertLess(time.time(), deadline)
      time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()
    self.assertEqual(child.returncode, -signal.SIGKILL)
    self.assertEqual(whole.wait(timeout=600), 0,
                     _tail(os.path.join(root, 'whole_log.txt')))
    checkpoints = os.listdir(os.path.dirname(second))
    self.assertNotIn('round-000003.npz', checkpoints)
    before = training_loop.read_metrics(
        os.path.join(killed_dir, 'federated', 'metrics.csv'))
    self.assertLessEqual(len(before), 3)
    self.assertFalse(stages.read(os.path.join(killed_dir, 'federated'))[
        'complete'])

    # The killed run left its clients' examples behind ...
    clients = os.path.join(root, 'clients')
    self.assertLen(os.listdir(clients), 1)
    rerun = _popen(_args(self.data, root, 'killed'), log)
    self.assertEqual(rerun.wait(timeout=600), 0, _tail(log))
    # ... and the next run removed them.
    self.assertEqual(os.listdir(clients), [])
    after = training_loop.read_metrics(
        os.path.join(killed_dir, 'federated', 'metrics.csv'))
    self.assertEqual([r['round'] for r in after], list(range(1, _ROUNDS + 1)))
    # Rounds 1-2 come from the checkpoint, not from training them again.
    self.assertEqual(after[:2], before[:2])
    reference = training_loop.read_metrics(
        os.path.join(root, 'whole', 'federated', 'metrics.csv'))
    # Every round measured its gradient diversity (2 clients: >= 1/2).
    self.assertTrue(all(r['gradient_diversity'] >= 0.5 for r in after))
    for key in ('train_loss', 'val_accuracy', 'test_accuracy',
                'gradient_diversity'):
      self.assertAllClose([r[key] for r in after],
                          [r[key] for r in reference], atol=1e-6)
    for got, want in zip(_weights(killed_dir),
                         _weights(os.path.join(root, 'whole'))):
      self.assertLessEqual(np.max(np.abs(got - want)), 1e-6)


if __name__ == '__main__':
  tf.test.main()
