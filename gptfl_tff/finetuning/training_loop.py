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
"""The federated training loop: rounds, evaluation, metrics, resume.

Each run writes into its federated stage folder
(`{root_output_dir}/{experiment_name}/federated/`):

  * `metrics.csv`: one row per round (train loss and accuracy, round wall
    time, parameters communicated down and up and their running totals,
    validation and test loss and accuracy on evaluation rounds), rewritten
    atomically each round and read back by `read_metrics`;
  * `tensorboard/`: the same scalars, in one event file rewritten
    atomically from the rows, so every round appears exactly once;
  * `checkpoints/round-NNNNNN.npz`: every `checkpoint_every` rounds (and
    after the last), the whole server state (model weights, server optimizer
    state, aggregator state including the secure aggregator's adaptive
    bounds), the round number, the wall time used and the metric rows so
    far, written atomically; the last two are kept.

  * `client_state/`: for algorithms whose clients keep state between rounds
    (SCAFFOLD), each client's state as of the rounds it took part in
    (`scaffold.ClientStates`).

Rerunning resumes from the last checkpoint. Client sampling and client data
order are functions of (seed, round, client) only, so a resumed run computes
the same rounds as an uninterrupted one.
"""

import contextlib
import csv
import dataclasses
import errno
import fcntl
import glob
import io
import json
import os
import re
import shutil
import socket
import tempfile
import time
from typing import Any, Callable, Iterator, Optional, Sequence

from absl import logging
import numpy as np
import tensorflow as tf
import tensorflow_federated as tff

from gptfl_tff import console
from gptfl_tff import errors
from gptfl_tff import io_utils
from gptfl_tff import models
from gptfl_tff import runtime
from gptfl_tff.finetuning import federated
from gptfl_tff.finetuning import forms
from gptfl_tff.finetuning import scaffold

CSV_COLUMNS = (
    'round', 'train_loss', 'train_accuracy', 'train_examples',
    'round_seconds', 'params_down', 'params_up', 'cumulative_params_down',
    'cumulative_params_up', 'val_loss', 'val_accuracy', 'test_loss',
    'test_accuracy', 'gradient_diversity',
)
# Columns added after the first version; an older metrics.csv reads them as
# empty.
_NEW_COLUMNS = frozenset({'gradient_diversity'})

_INT_COLUMNS = frozenset({
    'round', 'train_examples', 'params_down', 'params_up',
    'cumulative_params_down', 'cumulative_params_up',
})
_EVENTS_FILE = 'events.out.tfevents.0.gptfl.v2'
_CHECKPOINT_RE = re.compile(r'^round-(\d{6})\.npz$')


class CheckpointError(errors.UserError):
  """A checkpoint that does not belong to this run; says what to do."""


@dataclasses.dataclass(frozen=True)
class LoopConfig:
  """How long to train and what to record.

  Attributes:
    rounds: Number of federated rounds.
    clients_per_round: Clients sampled (without replacement) per round.
    eval_every: Evaluate every this many rounds (and after the last round);
      0 disables evaluation.
    seed: Seed of client sampling and client data order.
    output_dir: Where metrics, TensorBoard logs and checkpoints go; `None`
      writes nothing (and cannot resume).
    max_seconds: Stop after the first round that ends past this wall-time
      budget of training (summed over resumed runs; 0: no budget); the last
      round is evaluated.
    checkpoint_every: Save the server state every this many rounds (and
      after the last round).
  """

  rounds: int
  clients_per_round: int
  eval_every: int = 1
  seed: int = 0
  output_dir: Optional[str] = None
  max_seconds: float = 0.0
  checkpoint_every: int = 5

  def __post_init__(self):
    if (self.rounds < 1 or self.clients_per_round < 1 or self.eval_every < 0
        or self.checkpoint_every < 1):
      raise ValueError(
          'Need rounds >= 1, clients_per_round >= 1, eval_every >= 0 and '
          f'checkpoint_every >= 1; got {self.rounds}, '
          f'{self.clients_per_round}, {self.eval_every}, '
          f'{self.checkpoint_every}.')


def _csv_text(rows: Sequence[dict[str, Any]]) -> str:
  buf = io.StringIO()
  writer = csv.DictWriter(buf, CSV_COLUMNS, extrasaction='ignore')
  writer.writeheader()
  writer.writerows(rows)
  return buf.getvalue()


def _write_events(path: str, rows: Sequence[dict[str, Any]]) -> None:
  """Writes every row's scalars as one TensorBoard event file, atomically."""
  with io_utils.atomic_path(path) as tmp:
    with tf.io.TFRecordWriter(tmp) as writer:
      writer.write(tf.compat.v1.Event(
          wall_time=0.0, file_version='brain.Event:2').SerializeToString())
      for row in rows:
        values = [tf.compat.v1.Summary.Value(tag=k, simple_value=float(v))
                  for k, v in row.items()
                  if k != 'round' and v is not None and v != '']
        writer.write(tf.compat.v1.Event(
            wall_time=float(row.get('wall_time', 0.0)), step=row['round'],
            summary=tf.compat.v1.Summary(value=values)).SerializeToString())


class MetricsWriter:
  """Writes metric rows to CSV and TensorBoard, each round exactly once."""

  def __init__(self, output_dir: Optional[str],
               rows: Sequence[dict[str, Any]] = ()):
    self._rows: list[dict[str, Any]] = list(rows)
    self._dir = output_dir

  @property
  def rows(self) -> list[dict[str, Any]]:
    return self._rows

  def write(self, row: dict[str, Any]) -> None:
    """Appends a row and rewrites both files from all rows."""
    self._rows.append(row)
    if not self._dir:
      return
    io_utils.atomic_write_text(
        os.path.join(self._dir, 'metrics.csv'), _csv_text(self._rows))
    _write_events(os.path.join(self._dir, 'tensorboard', _EVENTS_FILE),
                  self._rows)


def read_metrics(path: str) -> list[dict[str, Any]]:
  """Reads a `metrics.csv` written by `MetricsWriter`.

  Args:
    path: The `metrics.csv` file of a run.

  Returns:
    One dict a round, keyed by `CSV_COLUMNS`: ints for the round and the
    counts, floats for the metrics, `None` for empty cells (the evaluation
    metrics of rounds without evaluation).

  Raises:
    FileNotFoundError: If `path` does not exist.
    ValueError: If the header lacks one of `CSV_COLUMNS` or a cell is not a
      number.
  """
  with open(path, newline='') as f:
    reader = csv.DictReader(f)
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or ())
               and c not in _NEW_COLUMNS]
    if missing:
      raise ValueError(
          f'{path} is not a metrics.csv of this project: it lacks the '
          f'columns {missing}.'
      )
    rows = []
    for line, raw in enumerate(reader, start=2):
      row = {}
      for column in CSV_COLUMNS:
        cell = (raw.get(column) or '').strip()
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


@dataclasses.dataclass(frozen=True)
class Checkpoint:
  """What a resumed run starts from."""

  round_num: int
  state: Any
  rows: list[dict[str, Any]]
  seconds: float


class Checkpointer:
  """Saves and restores the server state every few rounds, atomically."""

  def __init__(self, output_dir: str, fingerprint: str, keep: int = 2):
    self._dir = os.path.join(output_dir, 'checkpoints')
    self._fingerprint = fingerprint
    self._keep = keep

  def _paths(self) -> list[tuple[int, str]]:
    found = []
    for path in glob.glob(os.path.join(self._dir, 'round-*.npz')):
      match = _CHECKPOINT_RE.match(os.path.basename(path))
      if match:
        found.append((int(match[1]), path))
    return sorted(found)

  def save(self, round_num: int, state: Any, rows: Sequence[dict[str, Any]],
           seconds: float) -> None:
    """Writes `round-{round_num}.npz`; drops all but the newest `keep`."""
    leaves = tf.nest.flatten(state)
    arrays = {f'leaf_{i:05d}': np.asarray(v) for i, v in enumerate(leaves)}
    meta = {'round': round_num, 'fingerprint': self._fingerprint,
            'seconds': seconds, 'rows': list(rows), 'leaves': len(leaves)}
    io_utils.atomic_save_npz(
        os.path.join(self._dir, f'round-{round_num:06d}.npz'),
        meta=np.array(json.dumps(meta)), **arrays)
    for _, path in self._paths()[:-self._keep]:
      os.remove(path)

  def restore(self, template: Any) -> Optional[Checkpoint]:
    """The newest checkpoint, shaped like `template`; `None` if there is none.

    Raises:
      CheckpointError: If it was written by a run with other settings or
        does not match the state's structure.
    """
    paths = self._paths()
    if not paths:
      return None
    _, path = paths[-1]
    with np.load(path) as z:
      meta = json.loads(str(z['meta']))
      leaves = [z[f'leaf_{i:05d}'] for i in range(meta['leaves'])]
    if meta['fingerprint'] != self._fingerprint:
      raise CheckpointError(
          f'{path} was written by a run with other settings; use another '
          '--experiment_name or pass --redo_from=federated.')
    flat = tf.nest.flatten(template)
    if len(flat) != len(leaves) or any(
        np.shape(a) != np.shape(b) for a, b in zip(flat, leaves)):
      raise CheckpointError(
          f'{path} does not match this model\'s server state; pass '
          '--redo_from=federated to start again.')
    leaves = [leaf[()] if isinstance(t, np.generic) else leaf.astype(
        np.asarray(t).dtype) for t, leaf in zip(flat, leaves)]
    return Checkpoint(meta['round'], tf.nest.pack_sequence_as(
        template, leaves), meta['rows'], meta['seconds'])


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
    fingerprint: str = '',
    progress: bool = False,
) -> tuple[Any, list[dict[str, Any]]]:
  """Runs (or resumes) federated rounds and records metrics.

  Args:
    process: The learning process (for `get_model_weights`).
    round_fn: `federated.build_round_computation(process, ...)`.
    store: Where the clients' examples are.
    initial_state: The process state to start from.
    config: Loop settings.
    evaluator: `ModelWeights -> dict` of evaluation metrics, or `None`.
    fingerprint: Identifies the run's settings; a checkpoint written with
      another fingerprint is refused.
    progress: Show a progress bar over rounds.

  Returns:
    `(final_state, metric_rows)`.

  Raises:
    ValueError: If the store holds no clients.
    CheckpointError: If the output folder's checkpoint is another run's.
    errors.UserError: If SCAFFOLD client state is missing or foreign
      (`scaffold.ClientStates`).
  """
  client_ids = sorted(store.sizes)
  if not client_ids:
    raise ValueError('No clients in the client store; write some first.')
  state, rows, used, first = initial_state, [], 0.0, 1
  checkpointer = None
  if config.output_dir:
    checkpointer = Checkpointer(config.output_dir, fingerprint)
    restored = checkpointer.restore(initial_state)
    if restored is not None:
      state, rows, used = restored.state, restored.rows, restored.seconds
      first = restored.round_num + 1
      logging.info('Resuming after round %d.', restored.round_num)
  # Rounds of the checkpoints a rerun may resume from (the checkpointer
  # keeps two; 0 is the start).
  resumable = [first - 1]
  writer = MetricsWriter(config.output_dir, rows)
  states = None
  if federated.uses_client_state(process):
    states = scaffold.ClientStates(
        os.path.join(config.output_dir or store.root, 'client_state'),
        first - 1)
  num_params = models.count_params(
      process.get_model_weights(state).trainable)
  cumulative = rows[-1]['cumulative_params_down'] if rows else 0
  finished = bool(rows) and (
      rows[-1]['round'] >= config.rounds or
      (config.max_seconds > 0 and used > config.max_seconds))
  bar = console.progress(config.rounds, 'rounds', 'round', initial=first - 1,
                         enabled=progress and not finished)
  start_time = time.perf_counter() - used
  with bar:
    for round_num in range(first, config.rounds + 1):
      if finished:
        break
      clients = sample_clients(
          client_ids, config.clients_per_round, config.seed, round_num)
      args = [
          (store.path(c), federated.client_seed(config.seed, round_num, c))
          + (states.paths(c, round_num) if states else ())
          for c in clients
      ]
      start = time.perf_counter()
      output = round_fn(state, args)
      seconds = time.perf_counter() - start
      state = output.state
      train = output.metrics['client_work']['train']
      aggregator = output.metrics['aggregator']
      sent = num_params * len(clients)
      cumulative += sent
      row = dict.fromkeys(CSV_COLUMNS)
      row.update({
          'round': round_num,
          'train_loss': float(train['loss']),
          'train_accuracy': float(train['sparse_categorical_accuracy']),
          'train_examples': int(train['num_examples']),
          'round_seconds': seconds,
          # Not measured under DP (it would not be private).
          'gradient_diversity': (float(aggregator['gradient_diversity'])
                                 if 'gradient_diversity' in aggregator
                                 else None),
          'params_down': sent,
          'params_up': sent,
          'cumulative_params_down': cumulative,
          'cumulative_params_up': cumulative,
      })
      used = time.perf_counter() - start_time
      over_budget = config.max_seconds > 0 and used > config.max_seconds
      last = round_num == config.rounds or over_budget
      if evaluator and config.eval_every and (
          round_num % config.eval_every == 0 or last):
        row.update(evaluator(process.get_model_weights(state)))
      writer.write(row)
      saved = checkpointer is not None and (
          last or round_num % config.checkpoint_every == 0)
      if saved:
        checkpointer.save(round_num, state, writer.rows, used)
        resumable = resumable[-1:] + [round_num]
      if states and (saved or checkpointer is None):
        # Keep what a resume from either kept checkpoint reads.
        states.prune(round_num if checkpointer is None else resumable[0])
      shown = {'loss': row['train_loss'], 'acc': row['train_accuracy']}
      if row['val_accuracy'] is not None:
        shown['val_acc'] = row['val_accuracy']
      bar.update(1, s_round=seconds, **shown)
      logging.info('round %d: %s', round_num, row)
      if over_budget:
        logging.info('Wall-time budget of %.0f s reached after round %d.',
                     config.max_seconds, round_num)
        break
  return state, writer.rows


_CLIENT_FOLDER_PREFIX = 'gptfl_clients_'
_OWNER_LOCK = 'owner.lock'


def remove_stale_client_folders(parent: Optional[str]) -> list[str]:
  """Removes client-example folders left by killed runs.

  Each run keeps an exclusive `flock` on `owner.lock` in its client folder
  (`client_folder`) while it lives; the kernel drops the lock when the
  process ends, however it ends. A folder whose lock can be taken belongs
  to no running process and is removed (holding the lock, so two sweeping
  runs cannot race). Only folders made on this host are considered (the
  lock file names it): on a shared `--client_store_dir`, a filesystem may
  keep locks per host. A held lock, another host, a folder without a lock
  file (an older version's, or one being made) and a filesystem that
  cannot lock all leave the folder alone.

  Args:
    parent: The folder holding client folders; `None`: the system's
      temporary folder.

  Returns:
    The removed folders' paths.
  """
  parent = parent or tempfile.gettempdir()
  removed = []
  for name in sorted(os.listdir(parent)):
    path = os.path.join(parent, name)
    if not name.startswith(_CLIENT_FOLDER_PREFIX):
      continue
    try:
      fd = os.open(os.path.join(path, _OWNER_LOCK), os.O_RDONLY)
    except OSError:
      continue
    try:
      if os.read(fd, 256).decode(errors='replace') != socket.gethostname():
        continue
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
      shutil.rmtree(path)
      removed.append(path)
    except OSError as e:  # Held by a live run, gone, or not removable.
      if e.errno not in (errno.EAGAIN, errno.EACCES, errno.ENOENT):
        logging.warning('Could not remove %s: %s', path, e)
    finally:
      os.close(fd)
  return removed


@contextlib.contextmanager
def client_folder(parent: Optional[str]) -> Iterator[str]:
  """A temporary folder for the clients' examples, removed at the end.

  It first removes folders of killed runs (`remove_stale_client_folders`),
  then holds the new folder's `owner.lock` (which names this host) for as
  long as it is in use. The lock file appears (renamed into place) only
  once it is locked; where the filesystem cannot lock, there is none, and
  a killed run's folder stays.

  Args:
    parent: Where to make it (created if missing); `None`: the system's
      temporary folder.

  Yields:
    The folder's path.
  """
  if parent:
    os.makedirs(parent, exist_ok=True)
  for path in remove_stale_client_folders(parent):
    logging.info('Removed %s, left by a killed run.', path)
  path = tempfile.mkdtemp(prefix=_CLIENT_FOLDER_PREFIX, dir=parent)
  lock = os.path.join(path, _OWNER_LOCK)
  fd = os.open(lock + '.tmp', os.O_CREAT | os.O_WRONLY, 0o600)
  try:
    os.write(fd, socket.gethostname().encode())
    try:
      fcntl.flock(fd, fcntl.LOCK_EX)
      os.rename(lock + '.tmp', lock)
    except OSError as e:  # No locks here: never sweepable, still usable.
      logging.warning('Cannot lock %s (%s); if this run is killed, remove '
                      'the folder by hand.', lock, e)
    yield path
  finally:
    shutil.rmtree(path, ignore_errors=True)
    os.close(fd)


def run_simulation(
    keras_model_fn: Callable[[], tf.keras.Model],
    initial_model: tf.keras.Model,
    features: np.ndarray,
    labels: np.ndarray,
    parts: dict[str, np.ndarray],
    eval_splits: dict[str, tuple[np.ndarray, np.ndarray]],
    process_config: federated.ProcessConfig,
    client_epochs: int,
    client_batch_size: int,
    config: LoopConfig,
    feature_dtype: type = np.float32,
    clients_in_parallel: int = -1,
    fingerprint: str = '',
    audit: bool = True,
    cache_dir: Optional[str] = None,
    round_form: forms.RoundForm = forms.RoundForm.MAP_REDUCE,
    progress: bool = False,
    workers: Sequence[str] = (),
    client_store_dir: Optional[str] = None,
) -> tuple[tff.learning.templates.LearningProcess, Any, list[dict[str, Any]]]:
  """Simulates (or resumes) federated training of a partitioned train set.

  Builds the process (secure aggregation per `process_config`) on the
  project's TEST context, compiles the round to the form it runs (audited
  when aggregation is secure; see `forms.build_round`), starts from
  `initial_model`'s weights (or the last checkpoint), writes each client's
  examples to a temporary `ClientStore`, and runs `run` with centralised
  evaluation.

  Args:
    keras_model_fn: Builds the (uncompiled, logits) model.
    initial_model: The model whose weights round 1 starts from.
    features: All training features (float32, or uint8 images).
    labels: Their labels.
    parts: `client_id -> indices` into `features`.
    eval_splits: `name -> (float32 model input, labels)`, e.g. 'val', 'test'.
    process_config: The algorithm and its settings.
    client_epochs: Local epochs.
    client_batch_size: Local batch size.
    config: Loop settings.
    feature_dtype: Dtype the client store keeps features in.
    clients_in_parallel: Worker concurrency (see `runtime`).
    fingerprint: The run's settings fingerprint (see `run`).
    audit: With secure aggregation, compile the round to MapReduceForm and
      DistributeAggregateForm and refuse to train if any client value would
      reach the server outside a secure sum.
    cache_dir: Where passed audits and compiled computations are kept (see
      `forms.build_round` and `runtime.compile_computation`).
    round_form: The form of the round that runs.
    progress: Show a progress bar over rounds.
    workers: Addresses of two or more running TFF workers to split each
      round's clients across (`runtime.WorkerPool`); empty: this process's
      local worker. Server-side computations (initialisation, reading the
      weights) stay on the local worker.
    client_store_dir: Folder the clients' examples are written to (in a
      temporary subfolder, removed at the end, or by the next run if this
      one is killed: `client_folder`), which every worker must be able to
      read; `None`: the system's temporary folder.

  Returns:
    `(process, final_state, metric_rows)`.

  Raises:
    forms.InsecureAggregationError: If the audit finds a non-secure path.
    runtime.WorkerError: If a worker cannot be reached, cannot read the
      client data, or stops answering.
  """
  from gptfl_tff import evaluation  # pylint: disable=g-import-not-at-top
  shape = features.shape[1:]
  runtime.set_default_context(runtime.ContextKind.TEST, clients_in_parallel,
                              cache_dir=cache_dir)
  # Workers are checked before the round is built: an unreachable one fails
  # the run at once.
  pool = runtime.WorkerPool(workers) if workers else None
  try:
    process = federated.build_learning_process(
        federated.create_tff_model_fn(keras_model_fn, shape), process_config,
        population=len(parts))
    round_fn = forms.build_round(
        federated.build_round_computation(
            process, federated.build_client_data_computation(
                shape, client_epochs, client_batch_size, feature_dtype)),
        round_form,
        secure=audit and process_config.secure, cache_dir=cache_dir)
    state = federated.set_initial_weights(
        process, process.initialize(), initial_model)
    evaluator = evaluation.create_weights_evaluator(keras_model_fn,
                                                    eval_splits)
    with client_folder(client_store_dir) as tmp:
      store = federated.ClientStore(tmp, shape, feature_dtype)
      store.write_partition(features, labels, parts)
      if pool:
        pool.check_readable(store.path(sorted(store.sizes)[0]) + '.y')
        round_fn = pool.wrap(round_fn)
      logging.info('%d clients, %d train examples', len(parts),
                   sum(store.sizes.values()))
      state, rows = run(process, round_fn, store, state, config, evaluator,
                        fingerprint, progress)
  finally:
    if pool:
      pool.close()
  return process, state, rows
