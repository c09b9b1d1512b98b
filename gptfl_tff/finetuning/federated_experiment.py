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
"""The one federated runner: any task, from scratch or from a saved model.

GPT-FL's federated fine-tuning (Sec. 3.3) and the FL baselines it is
compared with are the same run with another starting point: load the task's
real data, partition the training split into clients, build FedAvg/FedOpt
with secure aggregation, start from random init or a saved Keras model (the
model pretrained on synthetic data), train with resume, evaluate on the
validation split (and the test split, reported only), and write metrics and
the final model into the stage folder (`stages` rule: same settings resume
or skip, other settings are refused).

With differential privacy (`ProcessConfig.dp`), the noise is calibrated once
the partition's client count is known, and the guarantee the run's round
budget gives is written to `privacy.json` (`PRIVACY_FILE`).
"""

import dataclasses
import os
from typing import Any, Optional

import numpy as np
import tensorflow as tf

from gptfl_tff import errors
from gptfl_tff import io_utils
from gptfl_tff import models
from gptfl_tff import partition
from gptfl_tff import runtime
from gptfl_tff import stages
from gptfl_tff import tasks
from gptfl_tff.finetuning import federated
from gptfl_tff.finetuning import forms
from gptfl_tff.finetuning import privacy
from gptfl_tff.finetuning import training_loop
from gptfl_tff.tasks import base

Partition = base.Partition
FINAL_MODEL = 'final_model.keras'
PRIVACY_FILE = 'privacy.json'


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
  """One federated run; `for_task` fills the task's defaults.

  Attributes:
    task: Task name (`tasks.names()`).
    data: Where the real data is and how it is split.
    model: Downstream model (a key of the task's `models`).
    partition: Natural groups (speakers) or Dirichlet label skew.
    clients_per_speaker: Natural partition: clients per speaker.
    num_clients: Dirichlet partition: number of clients.
    dirichlet_alpha: Dirichlet concentration.
    min_client_examples: Dirichlet partition: fewest examples per client.
    examples_per_label: Scarce data: keep at most this many examples of each
      label per client (0: all).
    process: FedAvg/FedOpt and aggregation settings.
    client_epochs: Local epochs.
    client_batch_size: Local batch size.
    rounds: Round budget.
    clients_per_round: Clients sampled per round.
    eval_every: Evaluate every k rounds (and after the last).
    max_minutes: Wall-time budget of training (0: none).
    checkpoint_every: Save the server state every k rounds.
    seed: Seed of init, partition, sampling and data order.
    initial_model: Saved Keras model to start from (`None`: random init).
    clients_in_parallel: Client computations the TFF worker runs at once.
    output_dir: The run's stage folder.
    workers: Running TFF workers (`host:port`) to split each round's
      clients across; empty: one local worker. Not a setting: the result is
      the same (`runtime.WorkerPool`).
    client_store_dir: Where clients' examples are written for the workers
      to read (shared storage with `workers`); `None`: a local temporary
      folder.
  """

  task: str = 'fsdd'
  data: base.DataConfig = base.DataConfig()
  model: str = 'keyword'
  partition: Partition = Partition.NATURAL
  clients_per_speaker: int = 1
  num_clients: int = 15
  dirichlet_alpha: float = 0.1
  min_client_examples: int = 10
  examples_per_label: int = 0
  process: federated.ProcessConfig = federated.ProcessConfig()
  client_epochs: int = 1
  client_batch_size: int = 32
  rounds: int = 30
  clients_per_round: int = 5
  eval_every: int = 1
  max_minutes: float = 0.0
  checkpoint_every: int = 5
  seed: int = 0
  initial_model: Optional[str] = None
  clients_in_parallel: int = -1
  output_dir: Optional[str] = None
  workers: tuple[str, ...] = ()
  client_store_dir: Optional[str] = None

  @classmethod
  def for_task(cls, task: str, finetune: bool = False,
               **overrides) -> 'ExperimentConfig':
    """The task's defaults, overridden by `overrides`.

    Args:
      task: Task name.
      finetune: Without a `process` override, use the task's fine-tuning
        client learning rate (GPT-FL) instead of its from-scratch rate.
      **overrides: Field values.

    Returns:
      The config.

    Raises:
      base.DataError: For an unknown task.
    """
    d = tasks.get(task).defaults
    values = dict(
        task=task, model=d.model, partition=d.partition,
        num_clients=d.num_clients, dirichlet_alpha=d.dirichlet_alpha,
        client_epochs=d.client_epochs, client_batch_size=d.client_batch_size,
        rounds=d.rounds, clients_per_round=d.clients_per_round,
        eval_every=d.eval_every, min_client_examples=d.min_client_examples,
        process=federated.ProcessConfig(client_learning_rate=(
            d.finetune_client_learning_rate if finetune
            else d.client_learning_rate)))
    values.update(overrides)
    return cls(**values)


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
    train: base.ExampleSet, config: ExperimentConfig
) -> dict[str, np.ndarray]:
  """Clients' example indices into `train`, per the config.

  Raises:
    partition.PartitionError: If the task has no natural groups for a
      natural partition, or a Dirichlet partition cannot be drawn.
  """
  if config.partition == Partition.NATURAL:
    if not np.any(train.groups != ''):
      raise partition.PartitionError(
          f'Task {config.task} has no natural clients (speakers); pass '
          '--partition=dirichlet.')
    parts = partition.natural(
        train.groups, config.clients_per_speaker, config.seed)
  else:
    parts = partition.dirichlet(
        train.labels, config.num_clients, config.dirichlet_alpha,
        config.min_client_examples, config.seed)
  if config.examples_per_label > 0:
    parts = {
        c: scarce(train.labels, idx, config.examples_per_label, config.seed)
        for c, idx in parts.items()
    }
  return parts


def eval_splits(task: base.Task, splits: base.Splits
                ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
  """`{'val': (x, y), 'test': (x, y)}` as float32 model input."""
  return {name: (task.model_input(s.features), s.labels)
          for name, s in splits.named().items()}


def data_settings(config: ExperimentConfig) -> dict[str, Any]:
  """What identifies the real data and its split, for the stage rule.

  The source is identified by a digest of its content, not its path, so
  moving it changes nothing and other data behind the same path (or
  `$GPTFL_DATA_DIR`) is noticed.
  """
  data = config.data
  out = {'task': config.task, 'use_tfds': data.use_tfds,
         'test_speakers': list(data.test_speakers),
         'max_train_per_class': data.max_train_per_class,
         'split_seed': data.seed}
  if not data.use_tfds:
    out['source'] = stages.file_digest(data.source())
  return out


def partition_settings(config: ExperimentConfig) -> dict[str, Any]:
  """The settings the client partition depends on (and no others)."""
  out = {'partition': config.partition.value,
         'examples_per_label': config.examples_per_label,
         'partition_seed': config.seed}
  if config.partition == Partition.NATURAL:
    out['clients_per_speaker'] = config.clients_per_speaker
  else:
    out.update(num_clients=config.num_clients,
               dirichlet_alpha=config.dirichlet_alpha,
               min_client_examples=config.min_client_examples)
  return out


def settings(config: ExperimentConfig) -> dict[str, Any]:
  """Every setting that shapes the run's output (for the stage rule)."""
  out = dict(data_settings(config), **partition_settings(config))
  out.update(stages.settings_of({
      'model': config.model, 'process': config.process,
      'client_epochs': config.client_epochs,
      'client_batch_size': config.client_batch_size,
      'rounds': config.rounds, 'clients_per_round': config.clients_per_round,
      'eval_every': config.eval_every, 'max_minutes': config.max_minutes,
      'seed': config.seed}))
  out['initial_model'] = (stages.file_digest(config.initial_model)
                          if config.initial_model else None)
  if config.process.algorithm != federated.Algorithm.FEDPROX:
    del out['process.proximal_strength']  # Unused, so not a setting.
  if config.process.dp is None:
    del out['process.dp']  # Off: older runs' settings are unchanged.
  return out


def private_process(config: ExperimentConfig, total_clients: int,
                    noise_seed: Optional[int] = None
                    ) -> federated.ProcessConfig:
  """The run's process config with its DP noise calibrated (if DP is on).

  Args:
    config: The run.
    total_clients: Clients in its partition.
    noise_seed: The DP noise seed; `None`: the run's seed (simulation).

  Returns:
    `config.process`, its `dp` resolved for `config.clients_per_round` of
    `total_clients` clients over `config.rounds` rounds (`privacy.resolve`).

  Raises:
    errors.UserError: If no noise meets the target epsilon.
  """
  dp = config.process.dp
  if dp is None:
    return config.process
  try:
    dp = privacy.resolve(
        dataclasses.replace(dp, noise_seed=config.seed if noise_seed is None
                            else noise_seed),
        config.clients_per_round, total_clients, config.rounds)
  except ValueError as e:
    raise errors.UserError(str(e)) from e
  return dataclasses.replace(config.process, dp=dp)


def privacy_report(config: ExperimentConfig,
                   process: federated.ProcessConfig,
                   total_clients: int) -> dict[str, Any]:
  """The (epsilon, delta) guarantee of the run's round budget.

  Args:
    config: The run.
    process: Its resolved process config (`private_process`).
    total_clients: Clients in its partition.

  Returns:
    What `PRIVACY_FILE` holds: the mechanism, epsilon at delta for the
    round budget (an upper bound if the run stops early), and the sampling
    it was accounted for.
  """
  dp = process.dp
  per_round = dp.clients_per_round
  return {
      'noise_multiplier': dp.noise_multiplier,
      'clip': dp.clip, 'adaptive_clipping': dp.adaptive_clipping,
      'target_epsilon': config.process.dp.target_epsilon,
      'epsilon': privacy.epsilon(dp.noise_multiplier, per_round,
                                 total_clients, config.rounds, dp.delta,
                                 dp.accountant),
      'delta': dp.delta, 'accountant': dp.accountant.value,
      'rounds': config.rounds, 'clients_per_round': per_round,
      'total_clients': total_clients,
      'sampling': ('all clients every round (add-or-remove-one)'
                   if per_round >= total_clients else
                   'fixed size without replacement (replace-one)'),
      'seeds': ('noise and client sampling seeded by the run seed '
                f'({config.seed}): a simulation; the guarantee assumes an '
                'adversary who does not know it'),
  }


def run(
    config: ExperimentConfig,
    splits: Optional[base.Splits] = None,
    redo: bool = False,
    progress: bool = False,
) -> list[dict[str, Any]]:
  """Runs, resumes or skips one federated run (see module docstring).

  Args:
    config: The run; `output_dir` is its stage folder (required).
    splits: The task's data, if already loaded (else loaded here).
    redo: Start again whatever the folder holds (`--redo_from=federated`).
    progress: Show a progress bar over rounds.

  Returns:
    The per-round metric rows.

  Raises:
    errors.UserError: On bad data, a missing initial model or a folder made
      with other settings (`stages.StageError`).
  """
  if not config.output_dir:
    raise errors.UserError('A federated run needs an output folder.')
  task = tasks.get(config.task)
  if config.initial_model:
    models.check_initial_model(config.initial_model)  # Before any work.
  status = stages.begin(config.output_dir, 'federated', settings(config),
                        redo)
  metrics_path = os.path.join(config.output_dir, 'metrics.csv')
  if status == stages.Status.DONE:
    return training_loop.read_metrics(metrics_path)
  splits = splits or task.load(config.data)
  parts = create_partition(splits.train, config)
  process_config = private_process(config, len(parts))
  if process_config.dp is not None:
    io_utils.atomic_write_json(
        os.path.join(config.output_dir, PRIVACY_FILE),
        privacy_report(config, process_config, len(parts)))

  def keras_model_fn():
    return task.create_model(config.model)

  init_model = _initial_model(config, task)
  process, state, rows = training_loop.run_simulation(
      keras_model_fn, init_model, splits.train.features, splits.train.labels,
      parts, eval_splits(task, splits), process_config, config.client_epochs,
      config.client_batch_size,
      training_loop.LoopConfig(
          config.rounds, config.clients_per_round, config.eval_every,
          config.seed, config.output_dir, config.max_minutes * 60.0,
          config.checkpoint_every),
      feature_dtype=task.feature_dtype,
      clients_in_parallel=config.clients_in_parallel,
      fingerprint=stages.fingerprint(settings(config)),
      cache_dir=config.data.cache_dir, progress=progress,
      workers=config.workers, client_store_dir=config.client_store_dir)
  final = tf.keras.Model.from_config(init_model.get_config())
  process.get_model_weights(state).assign_weights_to(final)
  models.save_model(final, os.path.join(config.output_dir, FINAL_MODEL))
  stages.finish(config.output_dir)
  return rows


def _initial_model(config: ExperimentConfig,
                   task: base.Task) -> tf.keras.Model:
  """Round 1's model: `config.initial_model`, or the task's, seeded."""
  if config.initial_model:
    models.check_initial_model(config.initial_model)
    return models.load_initial_model(config.initial_model)
  return task.create_model(config.model, config.seed)


def export(config: ExperimentConfig, folder: str) -> forms.CompiledRound:
  """Writes the run's fine-tuning round for a production stack.

  The round is the learning process's `next` (clients' data as datasets of
  `(features, labels)` batches) with the configured algorithm and
  aggregators, in both production forms, with its initial server state:
  the weights of `config.initial_model`, or the task's model initialised
  with `config.seed` (see `forms.export_round`).

  Args:
    config: The run (task, model, process, initial model, seed).
    folder: Output folder.

  Returns:
    The compiled round.

  Raises:
    errors.UserError: On SCAFFOLD, a missing initial model, a DP target epsilon
      without a noise multiplier, or (with secure aggregation on) a round
      that fails the audit. With secure aggregation off, the round is
      exported without the audit.
  """
  if config.process.algorithm == federated.Algorithm.SCAFFOLD:
    raise errors.UserError(
        'SCAFFOLD is not exported: its clients keep their control variates '
        'in files the simulation names, which a production stack does not '
        'have. Export --algorithm=fedavg, fedopt or fedprox.')
  dp = config.process.dp
  if dp is not None and dp.noise_multiplier is None:
    raise errors.UserError(
        'Export needs the DP noise itself: pass --dp_noise_multiplier (the '
        'noise a --target_epsilon run chose is in its privacy.json).')
  task = tasks.get(config.task)
  runtime.set_default_context(runtime.ContextKind.TEST)
  initial = _initial_model(config, task)
  shape = tuple(initial.input_shape[1:])
  process = federated.build_learning_process(
      federated.create_tff_model_fn(
          lambda: task.create_model(config.model), shape),
      # Production noise must not be derivable from a public seed.
      private_process(config, config.clients_per_round,
                      noise_seed=privacy.secret_seed()))
  state = federated.set_initial_weights(process, process.initialize(),
                                        initial)
  return forms.export_round(process.next, state, folder,
                            secure=config.process.secure)
