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
"""Tests for gptfl_tff.image_experiment: the image chain at toy scale."""

import csv
import json
import os

import tensorflow as tf

from gptfl_tff import federated
from gptfl_tff import image_experiment
from gptfl_tff import pretrain
from gptfl_tff.generators import stable_diffusion
from gptfl_tff.generators import tiny_diffusion
from tests.tasks import images_test


class ImageExperimentTest(tf.test.TestCase):

  def test_gptfl_chain_two_rounds(self):
    data = images_test._write_folder(  # pylint: disable=protected-access
        self.create_tempdir().full_path, per_class=10)
    out = self.create_tempdir().full_path
    sd = tiny_diffusion.create_tiny_pipeline(os.path.join(out, 'sd'))
    config = image_experiment.ImageExperimentConfig(
        data_dir=data, num_clients=3, clients_per_round=2, rounds=2,
        eval_every=1, min_client_examples=3, output_dir=out,
        model='convnet',
        process=federated.ProcessConfig(client_learning_rate=0.01))
    result = image_experiment.run_gptfl(
        config,
        stable_diffusion.DiffusionConfig(model=sd, steps=1, resolution=32,
                                         batch_size=3, local_files_only=True),
        prompts_per_label=2,
        pretraining=pretrain.PretrainConfig(epochs=1, batch_size=4),
        records_per_shard=8)
    self.assertEqual(result['rounds'], 2)
    self.assertBetween(result['synthetic_only_accuracy'], 0.0, 1.0)
    with open(os.path.join(out, 'synthetic', 'manifest.json')) as f:
      manifest = json.load(f)
    # Prompts cover the task's ten CIFAR-10 classes.
    self.assertLen(manifest['counts_per_label'], 10)
    self.assertEqual(manifest['counts_per_label']['ship'], 2)
    with open(os.path.join(out, 'federated', 'metrics.csv')) as f:
      rows = list(csv.DictReader(f))
    self.assertLen(rows, 2)
    # ConvNet sized for CIFAR-10's ten classes, 2 clients per round.
    self.assertEqual(int(rows[0]['params_down']), 2 * 320_010)

  def test_unknown_task_and_model(self):
    with self.assertRaisesRegex(ValueError, "Unknown task 'mnist'"):
      image_experiment.run(image_experiment.ImageExperimentConfig(task='mnist'))
    with self.assertRaisesRegex(ValueError, "Unknown model 'vit'"):
      image_experiment.run(image_experiment.ImageExperimentConfig(model='vit'))

  def test_wall_time_budget_stops_early(self):
    data = images_test._write_folder(  # pylint: disable=protected-access
        self.create_tempdir().full_path, per_class=10)
    rows = image_experiment.run(image_experiment.ImageExperimentConfig(
        data_dir=data, num_clients=3, clients_per_round=2, rounds=50,
        min_client_examples=3, max_minutes=1e-4, eval_every=10))
    self.assertLen(rows, 1)
    self.assertIsNotNone(rows[0]['test_accuracy'])


if __name__ == '__main__':
  tf.test.main()
