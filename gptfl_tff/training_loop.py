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
"""The federated training loop: rounds, evaluation, metrics output.

Each run writes under `{root_output_dir}/{experiment_name}/`:

  * `flags.json`: the resolved configuration of the run;
  * `metrics.csv`: one row per round (train loss and accuracy, round wall
    time, parameters communicated down and up and their running totals, and
    test loss and accuracy on evaluation rounds), rewritten atomically each
    round and read back by `read_metrics`;
  * `tensorboard/`: the same scalars for TensorBoard.
"""

import csv
import dataclasses
import io
import os
import tempfile
import time
from typing import Any, Callable, Optional, Sequence

from absl import logging
import numpy as np
import tensorflow as tf
import tensorflow_federated as tff

from gptfl_tff import federated
from gptfl_tff import io_utils
from gptfl_tff import runtime

CSV_COLUMNS = (
    'round', 'train_loss', 'train_accuracy', 'train_examples',
    'round_seconds', 'params_down', 'params_up', 'cumulative_params_down',
    'cumulative_params_up', 'test_loss', 'test_accuracy',
)

_INT_COLUMNS = frozenset({
    'round', 'train_examples', 'params_down', 'params_up',
    'cumulative_params_down', 'cumulative_params_up',
})


@dataclasses.dataclass(frozen=True)
class LoopConfig:
  """How long to train and what to record.

  Attributes:
    rounds: Number of federated rounds.
    clients_per_round: Clients sampled (without replacement) per round.
    eval_every: Evaluate on the test set every this many rounds (and after
      the last round); 0 disables evaluation.
    seed: Seed of client sampling and client data order.
    output_dir: Where flags, metrics and TensorBoard logs go; `None` writes
      nothing.
    max_seconds: Stop after the first round that ends past this wall-time
      budget (0: no budget); the last round is evaluated.
  """

  rounds: int
  clients_per_round: int
  eval_every: int = 1
  seed: int = 0
  output_dir: Optional[str] = None
  max_seconds: float = 0.0

  def __post_init__(self):
    if self.rounds < 1 or self.clients_per_round < 1 or self.eval_every < 0:
      raise ValueError(
          'Need rounds >= 1, clients_per_round >= 1 and eval_every >= 0; got '
          f'{self.rounds}, {self.clients_per_round}, {self.eval_every}.'
      )


def create_evaluator(
    keras_model_fn: Callable[[], tf.keras.Model],
    features: np.ndarray,
    labels: np.ndarray,
    batch_size: int = 256,
) -> Callable[[tff.learning.models.ModelWeights], dict[str, float]]:
  """Returns `weights -> {'test_loss', 'test_accuracy'}` on a held-out set.

  Evaluation is centralised on the server's test split, as in GPT-FL's and
  FedAudio's reported numbers.
  """
  model = keras_model_fn()
  loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(
      from_logits=True, reduction='sum'
  )
  dataset = tf.data.Dataset.from_tensor_slices((features, labels)).batch(
      batch_size
  )

  @tf.function
  def evaluate():
    total_loss = tf.constant(0.0)
    correct = tf.constant(0, tf.int64)
    for x, y in dataset:
      logits = model(x, training=False)
      total_loss += loss_fn(y, logits)
      correct += tf.reduce_sum(
          tf.cast(tf.equal(tf.argmax(logits, -1, tf.int32), y), tf.int64)
      )
    return total_loss, correct

  def evaluator(weights):
    weights.assign_weights_to(model)
    total_loss, correct = evaluate()
    n = len(labels)
    return {
        'test_loss': float(total_loss) / n,
        'test_accuracy': float(correct) / n,
    }

  return evaluator


def count_params(weights: tff.learning.models.ModelWeights) -> int:
  return int(sum(np.size(w) for w in weights.trainable))


class MetricsWriter:
  """Writes metric rows to CSV (atomically) and TensorBoard."""

  def __init__(self, output_dir: Optional[str]):
    self._rows: list[dict[str, Any]] = []
    self._dir = output_dir
    self._tb = None
    if output_dir:
      os.makedirs(output_dir, exist_ok=True)
      self._tb = tf.summary.create_file_writer(
          os.path.join(output_dir, 'tensorboard')
      )

  @property
  def rows(self) -> list[dict[str, Any]]:
    return self._rows

  def write(self, row: dict[str, Any]) -> None:
    self._rows.append(row)
    if not self._dir:
      return
    buf = io.StringIO()
    writer = csv.DictWriter(buf, CSV_COLUMNS, extrasaction='ignore')
    writer.writeheader()
    writer.writerows(self._rows)
    io_utils.atomic_write_text(
        os.path.join(self._dir, 'metrics.csv'), buf.getvalue()
    )
    with self._tb.as_default():
      for key, value in row.items():
        if key != 'round' and value is not None and value != '':
          tf.summary.scalar(key, value, step=row['round'])
    self._tb.flush()


def read_metrics(path: str) -> list[dict[str, Any]]:
  """Reads a `metrics.csv` written by `MetricsWriter`.

  Args:
    path: The `metrics.csv` file of a run.

  Returns:
    One dict a round, keyed by `CSV_COLUMNS`: ints for the round and the
    counts, floats for the metrics, `None` for empty cells (the test metrics
    of rounds without evaluation).

  Raises:
    FileNotFoundError: If `path` does not exist.
    ValueError: If the header lacks one of `CSV_COLUMNS` or a cell is not a
      number.
  """
  with open(path, newline='') as f:
    reader = csv.DictReader(f)
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
      raise ValueError(
          f'{path} is not a metrics.csv of this project: it lacks the '
          f'columns {missing}.'
      )
    rows = []
    for line, raw in enumerate(reader, start=2):
      row = {}
      for column in CSV_COLUMNS:
        cell = (raw[column] or '').strip()
        try:
          if not cell:
            row[column] = None
          elif column in _INT_COLUMNS:
            row[column] = int(cell)
          else:
            row[column] = float(cell)
        except ValueError:
          raise ValueError(
              f'{path} line {line}: column {column!r} holds {cell!r}, not a '
              'number.'
          ) from None
      rows.append(row)
  return rows


def sample_clients(
    client_ids: Sequence[str], num: int, seed: int, round_num: int
) -> list[str]:
  """Seeded uniform sample of `num` clients without replacement."""
  if num >= len(client_ids):
    return list(client_ids)
  rng = np.random.default_rng([seed, round_num])
  picked = rng.choice(len(client_ids), size=num, replace=False)
  return [client_ids[i] for i in sorted(picked)]


def run(
    process: tff.learning.templates.LearningProcess,
    round_fn: tff.Computation,
    store: federated.ClientStore,
    initial_state: Any,
    config: LoopConfig,
    evaluator: Optional[Callable[[Any], dict[str, float]]] = None,
) -> tuple[Any, list[dict[str, Any]]]:
  """Runs federated rounds and records metrics.

  Args:
    process: The learning process (for `get_model_weights`).
    round_fn: `federated.build_round_computation(process, ...)`.
    store: Where the clients' examples are.
    initial_state: The process state to start from.
    config: Loop settings.
    evaluator: `ModelWeights -> dict` of test metrics, or `None`.

  Returns:
    `(final_state, metric_rows)`.

  Raises:
    ValueError: If the store holds no clients.
  """
  client_ids = sorted(store.sizes)
  if not client_ids:
    raise ValueError('No clients in the client store; write some first.')
  writer = MetricsWriter(config.output_dir)
  state = initial_state
  num_params = count_params(process.get_model_weights(state))
  cumulative = 0
  loop_start = time.perf_counter()
  for round_num in range(1, config.rounds + 1):
    clients = sample_clients(
        client_ids, config.clients_per_round, config.seed, round_num
    )
    args = [
        (store.path(c), federated.client_seed(config.seed, round_num, c))
        for c in clients
    ]
    start = time.perf_counter()
    output = round_fn(state, args)
    seconds = time.perf_counter() - start
    state = output.state
    train = output.metrics['client_work']['train']
    sent = num_params * len(clients)
    cumulative += sent
    row = {
        'round': round_num,
        'train_loss': float(train['loss']),
        'train_accuracy': float(train['sparse_categorical_accuracy']),
        'train_examples': int(train['num_examples']),
        'round_seconds': seconds,
        'params_down': sent,
        'params_up': sent,
        'cumulative_params_down': cumulative,
        'cumulative_params_up': cumulative,
        'test_loss': None,
        'test_accuracy': None,
    }
    over_budget = config.max_seconds > 0 and (
        time.perf_counter() - loop_start > config.max_seconds)
    last = round_num == config.rounds or over_budget
    if evaluator and config.eval_every and (
        round_num % config.eval_every == 0 or last
    ):
      row.update(evaluator(process.get_model_weights(state)))
    writer.write(row)
    logging.info(
        'round %d: loss %.4f acc %.4f test_acc %s (%.2fs)',
        round_num, row['train_loss'], row['train_accuracy'],
        row['test_accuracy'], seconds,
    )
    if over_budget:
      logging.info('Wall-time budget of %.0f s reached after round %d.',
                   config.max_seconds, round_num)
      break
  return state, writer.rows


def run_simulation(
    keras_model_fn: Callable[[], tf.keras.Model],
    initial_model: tf.keras.Model,
    features: np.ndarray,
    labels: np.ndarray,
    parts: dict[str, np.ndarray],
    test_features: np.ndarray,
    test_labels: np.ndarray,
    process_config: federated.ProcessConfig,
    client_epochs: int,
    client_batch_size: int,
    config: LoopConfig,
    feature_dtype: type = np.float32,
    clients_in_parallel: int = -1,
) -> tuple[tff.learning.templates.LearningProcess, Any, list[dict[str, Any]]]:
  """Simulates federated training of a partitioned training set.

  Builds the process (secure aggregation per `process_config`) on the
  project's TEST context, starts from `initial_model`'s weights, writes each
  client's examples to a temporary `ClientStore`, and runs `run` with
  centralised evaluation on the test set.

  Args:
    keras_model_fn: Builds the (uncompiled, logits) model.
    initial_model: The model whose weights round 1 starts from.
    features: All training features (float32, or uint8 images).
    labels: Their labels.
    parts: `client_id -> indices` into `features`.
    test_features: Float32 model input of the test set.
    test_labels: Its labels.
    process_config: FedAvg/FedOpt settings.
    client_epochs: Local epochs.
    client_batch_size: Local batch size.
    config: Loop settings.
    feature_dtype: Dtype the client store keeps features in.
    clients_in_parallel: Worker concurrency (see `runtime`).

  Returns:
    `(process, final_state, metric_rows)`.
  """
  shape = features.shape[1:]
  runtime.set_default_context(runtime.ContextKind.TEST, clients_in_parallel)
  process = federated.build_learning_process(
      federated.create_tff_model_fn(keras_model_fn, shape), process_config)
  round_fn = federated.build_round_computation(
      process, federated.build_client_data_computation(
          shape, client_epochs, client_batch_size, feature_dtype))
  state = federated.set_initial_weights(
      process, process.initialize(), initial_model)
  evaluator = create_evaluator(keras_model_fn, test_features, test_labels)
  with tempfile.TemporaryDirectory(prefix='gptfl_clients_') as tmp:
    store = federated.ClientStore(tmp, shape, feature_dtype)
    for client_id, idx in parts.items():
      store.write(client_id, features[idx], labels[idx])
    logging.info('%d clients, %d train / %d test examples', len(parts),
                 sum(store.sizes.values()), len(test_labels))
    state, rows = run(process, round_fn, store, state, config, evaluator)
  return process, state, rows
