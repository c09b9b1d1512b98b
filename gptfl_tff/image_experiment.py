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
"""Image experiments: FL baselines and the GPT-FL chain (GPT-FL, Sec. 4).

`run` trains FedAvg/FedOpt on an image task (CIFAR-10/100, Flowers102) from
random init or a pretrained model, with the paper's Dirichlet partition.
`run_gptfl` first makes the synthetic data and the pretrained model:
prompts -> Stable Diffusion (diffusers or KerasCV) -> sharded TFRecords ->
pretraining with keras-cv augmentation -> federated fine-tuning.
"""

import dataclasses
import functools
import os
from typing import Any, Optional, Union

import numpy as np
import tensorflow as tf

from gptfl_tff import federated
from gptfl_tff import generation
from gptfl_tff import models
from gptfl_tff import partition
from gptfl_tff import pretrain
from gptfl_tff import prompts as prompts_lib
from gptfl_tff import training_loop
from gptfl_tff.generators import keras_cv_diffusion
from gptfl_tff.generators import stable_diffusion
from gptfl_tff.tasks import images


@dataclasses.dataclass(frozen=True)
class ImageExperimentConfig:
  """One image FL run.

  Attributes:
    task: Which task (`images.TASKS`).
    data_dir: Image folder/zip with `<split>/<class>/<file>`; None: TFDS.
    validation_fraction: Carved out of the training split per class.
    max_train_per_class: Subsample the training split (None: all).
    model: One of `models.IMAGE_MODELS`.
    num_clients / clients_per_round / dirichlet_alpha: The partition.
    min_client_examples: Minimum examples per client.
    process: FedAvg/FedOpt settings.
    client_epochs / client_batch_size: Local training.
    rounds / max_minutes: Round budget and wall-time budget.
    eval_every: Evaluate every k rounds.
    seed: Seed of everything.
    initial_model: Saved Keras model to start from (GPT-FL), or None.
    output_dir: Run folder.
  """

  task: str = 'cifar10'
  data_dir: Optional[str] = None
  validation_fraction: float = 0.1
  max_train_per_class: Optional[int] = None
  model: str = 'convnet'
  num_clients: int = 100
  clients_per_round: int = 10
  dirichlet_alpha: float = 0.5
  min_client_examples: int = 10
  process: federated.ProcessConfig = federated.ProcessConfig(
      client_learning_rate=0.01, client_momentum=0.9)
  client_epochs: int = 1
  client_batch_size: int = 32
  rounds: int = 1000
  max_minutes: float = 0.0
  eval_every: int = 5
  seed: int = 0
  initial_model: Optional[str] = None
  output_dir: Optional[str] = None


def load_data(config: ImageExperimentConfig):
  """`(train, validation)` image sets of the task."""
  spec = images.TASKS[config.task]
  if config.data_dir:
    data = images.load_image_folder(
        config.data_dir, 'train', spec.image_size,
        class_names=spec.class_names,
        max_per_class=config.max_train_per_class)
    return images.split_validation(data, config.validation_fraction,
                                   config.seed)
  return (images.load_tfds(spec, 'train'), images.load_tfds(spec, 'test'))


def keras_model_fn(config: ImageExperimentConfig):
  spec = images.TASKS[config.task]
  shape = (spec.image_size, spec.image_size, 3)
  return lambda: models.IMAGE_MODELS[config.model](shape, spec.num_classes,
                                                   seed=config.seed)


def run(config: ImageExperimentConfig) -> list[dict[str, Any]]:
  """Runs FL on the task; returns per-round metric rows."""
  if config.task not in images.TASKS:
    raise ValueError(f'Unknown task {config.task!r}; use one of '
                     f'{sorted(images.TASKS)}.')
  if config.model not in models.IMAGE_MODELS:
    raise ValueError(f'Unknown model {config.model!r}; use one of '
                     f'{sorted(models.IMAGE_MODELS)}.')
  train, val = load_data(config)
  parts = partition.dirichlet(
      train.labels, config.num_clients, config.dirichlet_alpha,
      config.min_client_examples, config.seed)
  model_fn = keras_model_fn(config)
  init = (models.load_initial_model(config.initial_model)
          if config.initial_model else model_fn())
  _, _, rows = training_loop.run_simulation(
      model_fn, init, train.images, train.labels, parts,
      images.to_model_input(val.images).numpy(), val.labels, config.process,
      config.client_epochs, config.client_batch_size,
      training_loop.LoopConfig(
          config.rounds, config.clients_per_round, config.eval_every,
          config.seed, config.output_dir, config.max_minutes * 60.0),
      feature_dtype=np.uint8)
  return rows


def run_gptfl(
    config: ImageExperimentConfig,
    diffusion: Union[stable_diffusion.DiffusionConfig,
                     keras_cv_diffusion.KerasCVConfig],
    prompts_per_label: int,
    pretraining: pretrain.PretrainConfig,
    records_per_shard: int = 100,
) -> dict[str, Any]:
  """The whole GPT-FL chain on an image task.

  Writes `prompts.jsonl`, `synthetic/`, `pretrain/` and `federated/` under
  `config.output_dir`; generation and pretraining resume.

  Args:
    config: The FL part (task, data, partition, process, rounds).
    diffusion: The generator: diffusers or KerasCV (its output_size is set
      to the task's resolution here).
    prompts_per_label: Synthetic images per class.
    pretraining: Centralized pretraining on the synthetic images.
    records_per_shard: Images per TFRecord shard (and per generator call,
      which batches them by guidance scale).

  Returns:
    Synthetic-only and final validation accuracy.
  """
  out = config.output_dir
  train, val = load_data(config)
  del train
  spec = images.TASKS[config.task]
  ps = prompts_lib.create_image_prompts(
      val.class_names, prompts_per_label, config.seed)
  prompts_lib.write_jsonl(os.path.join(out, 'prompts.jsonl'), ps)
  diffusion = dataclasses.replace(diffusion, output_size=spec.image_size)
  synthetic_dir = os.path.join(out, 'synthetic')
  if isinstance(diffusion, keras_cv_diffusion.KerasCVConfig):
    make_records, model_id = keras_cv_diffusion.make_records, diffusion.model_id
  else:
    make_records, model_id = stable_diffusion.make_records, diffusion.model
  generation.generate(
      ps, synthetic_dir, functools.partial(make_records, config=diffusion),
      records_per_shard=records_per_shard,
      # Whole shards to make_records, which batches them by guidance scale.
      batch_size=records_per_shard,
      info={'seed': config.seed, 'model_id': model_id}, progress=False)
  pretrain_dir = os.path.join(out, 'pretrain')
  pretrained = os.path.join(pretrain_dir, 'pretrained.keras')
  if not os.path.exists(pretrained):
    pretrain.run_images(synthetic_dir, spec.image_size, keras_model_fn(config),
                        pretraining, pretrain_dir)
  model = tf.keras.models.load_model(pretrained, compile=False)
  synthetic_only = pretrain.evaluate(
      model, images.to_model_input(val.images).numpy(), val.labels)
  rows = run(dataclasses.replace(
      config, initial_model=pretrained,
      output_dir=os.path.join(out, 'federated')))
  evaluated = [r for r in rows if r['test_accuracy'] is not None]
  return {
      'synthetic_only_accuracy': synthetic_only['test_accuracy'],
      'final_accuracy': evaluated[-1]['test_accuracy'] if evaluated else None,
      'rounds': len(rows),
  }
