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
"""One federated fine-tuning experiment on the spoken-digit task, end to end.

Loads FSDD, splits it, partitions the training part into clients, builds
FedAvg/FedOpt with secure aggregation, starts from random init or a saved
Keras model (GPT-FL's pretrained model, Sec. 3.3), trains, evaluates, and
writes flags and metrics under `output_dir`.
"""

import dataclasses
import enum
import os
from typing import Any, Optional, Sequence

import numpy as np
import tensorflow as tf

from gptfl_tff import audio
from gptfl_tff import federated
from gptfl_tff import models
from gptfl_tff import partition
from gptfl_tff import training_loop
from gptfl_tff.tasks import fsdd


class Split(enum.Enum):
  INDEX = 'index'
  SPEAKER = 'speaker'


class Partition(enum.Enum):
  NATURAL = 'natural'
  DIRICHLET = 'dirichlet'


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
  """Everything one run needs; see the flags in `experiments/fsdd_flags.py`."""

  data_dir: Optional[str] = None
  use_tfds: bool = False
  cache_dir: Optional[str] = None
  split: Split = Split.INDEX
  test_speakers: Sequence[str] = ()
  partition: Partition = Partition.NATURAL
  clients_per_speaker: int = 1
  num_clients: int = 20
  dirichlet_alpha: float = 0.1
  min_client_examples: int = 10
  examples_per_label: int = 0
  process: federated.ProcessConfig = federated.ProcessConfig()
  client_epochs: int = 1
  client_batch_size: int = 32
  rounds: int = 30
  clients_per_round: int = 5
  eval_every: int = 1
  seed: int = 0
  initial_model: Optional[str] = None
  clients_in_parallel: int = -1
  output_dir: Optional[str] = None


def scarce(
    labels: np.ndarray, client_idx: np.ndarray, per_label: int, seed: int
) -> np.ndarray:
  """Keeps at most `per_label` seeded-random examples of each label."""
  rng = np.random.default_rng(seed)
  keep = []
  for c in np.unique(labels[client_idx]):
    idx = client_idx[labels[client_idx] == c]
    keep.extend(rng.permutation(idx)[:per_label].tolist())
  return np.sort(np.array(keep, np.int64))


def create_partition(
    train: fsdd.FeatureSet, config: ExperimentConfig
) -> dict[str, np.ndarray]:
  """Clients' example indices into `train`, per the config."""
  if config.partition == Partition.NATURAL:
    parts = partition.natural(
        train.speakers, config.clients_per_speaker, config.seed
    )
  else:
    parts = partition.dirichlet(
        train.labels, config.num_clients, config.dirichlet_alpha,
        config.min_client_examples, config.seed,
    )
  if config.examples_per_label > 0:
    parts = {
        c: scarce(train.labels, idx, config.examples_per_label, config.seed)
        for c, idx in parts.items()
    }
  return parts


def load_splits(
    config: ExperimentConfig,
) -> tuple[fsdd.FeatureSet, fsdd.FeatureSet]:
  """`(train, test)` feature sets for the configured split."""
  features = fsdd.create_feature_set(
      config.data_dir, audio.FrontEndConfig(), config.cache_dir,
      config.use_tfds,
  )
  if config.split == Split.INDEX:
    return fsdd.split_by_index(features)
  if not config.test_speakers:
    raise ValueError(
        'split=speaker needs test_speakers (e.g. --test_speakers=george).')
  return fsdd.split_by_speaker(features, config.test_speakers)


def run(config: ExperimentConfig) -> list[dict[str, Any]]:
  """Runs one experiment; returns the per-round metric rows."""
  train, test = load_splits(config)
  parts = create_partition(train, config)
  shape = train.features.shape[1:]
  num_classes = fsdd.NUM_CLASSES

  def keras_model_fn():
    return models.create_keyword_model(shape, num_classes)

  if config.initial_model:
    init_model = models.load_initial_model(config.initial_model)
  else:
    init_model = models.create_keyword_model(shape, num_classes, config.seed)
  process, state, rows = training_loop.run_simulation(
      keras_model_fn, init_model, train.features, train.labels, parts,
      test.features, test.labels, config.process, config.client_epochs,
      config.client_batch_size,
      training_loop.LoopConfig(
          config.rounds, config.clients_per_round, config.eval_every,
          config.seed, config.output_dir),
      clients_in_parallel=config.clients_in_parallel)
  if config.output_dir:
    final = tf.keras.Model.from_config(init_model.get_config())
    process.get_model_weights(state).assign_weights_to(final)
    models.save_model(
        final, os.path.join(config.output_dir, 'final_model.keras'))
  return rows
