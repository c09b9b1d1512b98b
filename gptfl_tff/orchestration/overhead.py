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
"""FL overhead: a TFF round's wall time against its compute floor.

The floor is the same local training (same model, same client examples in
the same seeded order, same client optimizer with its momentum reset every
round) done without TFF, plus the weighted average of the client models:

  * per-step floor (the reference): the usual Keras custom loop. One train
    step, traced once with a fixed input signature, called from Python once
    per batch over the client's arrays. Measured serially (clients one
    after another) and on `threads` Python threads, one model copy each (TF
    releases the GIL), which is how TFF's worker runs clients.
  * whole-epoch floor (an extra, labelled column): each client's epochs as
    one `tf.function` over a `tf.data.Dataset` argument, on `threads`
    threads. A call costs about 0.6 s here whatever the client's size, so
    this floor is slow with many small clients and flatters TFF; the
    project's first overhead figures used it.

Both floors use the Keras GRU's plain graph implementation (`standard_gru`),
the one TFF's graph-mode tracing selects; TF2 `tf.function` would otherwise
take the backend-selection path, whose gradient is about 20% slower on CPU
here, and the floor would be inflated.

TFF rounds of every named variant (a process configuration, plain or
secure aggregation and a client-loop form, run in a round form) are timed in
the same run, interleaved round by round with the floors, together with the
TFF worker's CPU seconds.
"""

import concurrent.futures
import dataclasses
import os
import resource
import statistics
import tempfile
import threading
import time
from typing import Callable, Mapping, Sequence

import numpy as np
import tensorflow as tf

from gptfl_tff import console
from gptfl_tff import partition
from gptfl_tff import runtime
from gptfl_tff.finetuning import federated
from gptfl_tff.finetuning import federated_experiment
from gptfl_tff.finetuning import forms
from gptfl_tff.tasks import base

STEP_SERIAL = 'step floor, serial'
STEP_PARALLEL = 'step floor, parallel'
EPOCH_PARALLEL = 'whole-epoch floor, parallel'
FLOORS = (STEP_SERIAL, STEP_PARALLEL, EPOCH_PARALLEL)
# The whole-epoch floor costs about 0.3 s per client call, so `run` times it
# only up to this many clients.
EPOCH_FLOOR_MAX_CLIENTS = 100


@dataclasses.dataclass(frozen=True)
class OverheadResult:
  """Seconds of every measured round, per variant.

  Attributes:
    clients: Clients per round (every client takes part in every round).
    examples: Examples over all clients.
    threads: Threads of the parallel floors.
    seconds: Variant name -> wall seconds of each measured round; the TFF
      variants are named by the caller, the floors by `FLOORS`.
    worker_cpu_seconds: TFF variant name -> CPU seconds the TFF worker used
      in each measured round.
    driver_peak_mb: Peak resident memory of this Python process so far
      (client counts are measured in the order given, so with ascending
      counts it is the peak up to this count).
    worker_peak_mb: The same for the TFF worker process (the largest of
      them with several workers, each started for this measurement).
    workers: Local TFF workers the rounds ran on (`runtime.WorkerPool` when
      more than one).
  """

  clients: int
  examples: int
  threads: int
  seconds: Mapping[str, tuple[float, ...]]
  worker_cpu_seconds: Mapping[str, tuple[float, ...]]
  driver_peak_mb: float = 0.0
  worker_peak_mb: float = 0.0
  workers: int = 1

  def __post_init__(self):
    missing = [f for f in (STEP_SERIAL, STEP_PARALLEL)
               if f not in self.seconds]
    if missing:
      raise ValueError(f'OverheadResult lacks the floors {missing}.')

  def median(self, variant: str) -> float:
    """Median round seconds of `variant` (a TFF variant name or a floor)."""
    return statistics.median(self.seconds[variant])

  def ratio(self, variant: str, floor: str = STEP_PARALLEL) -> float:
    """Median round time of `variant` over that of `floor`."""
    return self.median(variant) / self.median(floor)

  def ms_per_client_above(self, variant: str,
                          floor: str = STEP_PARALLEL) -> float:
    """Milliseconds per client that `variant` spends above `floor`."""
    return (self.median(variant) - self.median(floor)) * 1e3 / self.clients

  def tff_variants(self) -> list[str]:
    """The measured TFF variants' names, in the order measured."""
    return [v for v in self.seconds if v not in FLOORS]


@dataclasses.dataclass(frozen=True)
class Variant:
  """A TFF round to time.

  Attributes:
    process: The learning process's configuration.
    form: The form of the round that runs (see `forms.build_round`).
  """

  process: federated.ProcessConfig
  form: forms.RoundForm = forms.RoundForm.MAP_REDUCE


def _use_graph_gru(model: tf.keras.Model) -> tf.keras.Model:
  """Makes Keras GRUs take `standard_gru`, as under TFF's graph tracing."""
  for layer in model.submodules:
    if isinstance(layer, tf.keras.layers.GRU):
      layer._could_use_gpu_kernel = False  # pylint: disable=protected-access
  return model


class _LocalModel:
  """A model copy, its loss and its client optimizer (momentum reset)."""

  def __init__(self, keras_model_fn, config: federated.ProcessConfig):
    self.model = _use_graph_gru(keras_model_fn())
    self.loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(
        from_logits=True)
    self.optimizer = tf.keras.optimizers.SGD(
        config.client_learning_rate, momentum=config.client_momentum)
    self.optimizer.build(self.model.trainable_variables)

  def train_step(self, x, y):
    with tf.GradientTape() as tape:
      loss = self.loss_fn(y, self.model(x, training=True))
    variables = self.model.trainable_variables
    grads = tape.gradient(loss, variables)
    self.optimizer.apply_gradients(zip(grads, variables))

  def start(self, weights):
    self.model.set_weights(weights)
    for v in self.optimizer.variables[1:]:  # Momentum resets every round.
      v.assign(tf.zeros_like(v))


def create_step_trainer(
    keras_model_fn: Callable[[], tf.keras.Model],
    config: federated.ProcessConfig,
    feature_shape: tuple[int, ...],
    batch_size: int,
) -> Callable[[list[np.ndarray], np.ndarray, np.ndarray],
              tuple[list[np.ndarray], int]]:
  """The per-step floor: `(weights, x, y) -> (new_weights, examples)`.

  Args:
    keras_model_fn: Builds the model (one copy per trainer).
    config: Client learning rate and momentum.
    feature_shape: One example's shape (the step's input signature).
    batch_size: Examples per step.

  Returns:
    A trainer taking start weights and the client's examples in training
    order (all epochs) and running one traced step per batch.
  """
  local = _LocalModel(keras_model_fn, config)
  step = tf.function(
      local.train_step, input_signature=federated.element_spec(feature_shape))

  def trainer(weights, x, y):
    local.start(weights)
    for i in range(0, len(y), batch_size):
      step(x[i:i + batch_size], y[i:i + batch_size])
    return local.model.get_weights(), len(y)

  return trainer


def create_epoch_trainer(
    keras_model_fn: Callable[[], tf.keras.Model],
    config: federated.ProcessConfig,
) -> Callable[[list[np.ndarray], tf.data.Dataset],
              tuple[list[np.ndarray], int]]:
  """The whole-epoch floor: `(weights, dataset) -> (new_weights, examples)`.

  Args:
    keras_model_fn: Builds the model (one copy per trainer).
    config: Client learning rate and momentum.

  Returns:
    A trainer running all of a dataset's batches in one `tf.function`.
  """
  local = _LocalModel(keras_model_fn, config)

  @tf.function
  def train(dataset):
    count = tf.constant(0, tf.int32)
    for x, y in dataset:
      local.train_step(x, y)
      count += tf.shape(y)[0]
    return count

  def trainer(weights, dataset):
    local.start(weights)
    n = int(train(dataset))
    return local.model.get_weights(), n

  return trainer


def in_training_order(
    x: np.ndarray, y: np.ndarray, seed: int, round_num: int, client: str,
    epochs: int,
) -> tuple[np.ndarray, np.ndarray]:
  """A client's examples in the order TFF trains on them in a round.

  Args:
    x: The client's features, in store order.
    y: Its labels.
    seed: The experiment's data-order seed.
    round_num: The round.
    client: The client's id.
    epochs: Local epochs.

  Returns:
    `(x, y)` reordered, `epochs` permutations one after another.
  """
  order = federated.client_order(
      federated.client_seed(seed, round_num, client), len(y), epochs).numpy()
  return x[order], y[order]


def weighted_average(results: Sequence[tuple[list[np.ndarray], int]]
                     ) -> list[np.ndarray]:
  """FedAvg's example-weighted mean.

  Args:
    results: `(weights, examples)` of each client.

  Returns:
    The weighted mean of the weight lists.
  """
  total = sum(n for _, n in results)
  return [sum(n * w[i] for w, n in results) / total
          for i in range(len(results[0][0]))]


class _Pool:
  """`threads` trainers of one kind, each used by one thread at a time."""

  def __init__(self, trainers):
    self._free = list(trainers)
    self._lock = threading.Lock()
    self._executor = concurrent.futures.ThreadPoolExecutor(len(trainers))

  def map(self, fn, items):
    def call(item):
      with self._lock:
        trainer = self._free.pop()
      try:
        return fn(trainer, item)
      finally:
        with self._lock:
          self._free.append(trainer)
    return list(self._executor.map(call, items))

  def close(self):
    self._executor.shutdown()


def measure(
    keras_model_fn: Callable[[], tf.keras.Model],
    store: federated.ClientStore,
    variants: Mapping[str, Variant],
    epochs: int,
    batch_size: int,
    rounds: int = 5,
    clients_in_parallel: int = -1,
    seed: int = 0,
    threads: int = 0,
    progress: Callable[[], None] = lambda: None,
    workers: int = 1,
    epoch_floor: bool = True,
) -> OverheadResult:
  """Times TFF rounds of each variant and the same rounds as floors.

  One warm-up round of each (tracing, compilation, worker start) is run
  first and not counted. Every client of `store` takes part in every round.
  The floors train with the client learning rate and momentum of the first
  variant.

  Args:
    keras_model_fn: Builds the model.
    store: The clients' data.
    variants: Name -> TFF variant.
    epochs: Local epochs.
    batch_size: Local batch size.
    rounds: Measured rounds.
    clients_in_parallel: Worker concurrency (see `runtime`).
    seed: Data-order seed.
    threads: Threads of the parallel floors; 0 means one per CPU core.
    progress: Called after each round of every variant.
    workers: Local TFF workers to split the clients across (more than one:
      fresh workers driven as a `runtime.WorkerPool`).
    epoch_floor: Also time the whole-epoch floor.

  Returns:
    An `OverheadResult`.

  Raises:
    ValueError: Without variants, or with a variant named like a floor.
  """
  if not variants or set(variants) & set(FLOORS):
    raise ValueError(
        f'Name at least one TFF variant, none of them {FLOORS}; got '
        f'{list(variants)}.')
  shape = store.feature_shape
  runtime.set_default_context(runtime.ContextKind.TEST, clients_in_parallel)
  client_data = federated.build_client_data_computation(
      shape, epochs, batch_size, store.feature_dtype)
  initial = keras_model_fn()
  weights = initial.get_weights()
  tff_rounds = {}
  for name, variant in variants.items():
    process = federated.build_learning_process(
        federated.create_tff_model_fn(keras_model_fn, shape),
        variant.process)
    tff_rounds[name] = [
        forms.build_round(
            federated.build_round_computation(process, client_data),
            variant.form),
        federated.set_initial_weights(
            process, process.initialize(), initial),
    ]
  clients: Sequence[str] = sorted(store.sizes)
  arrays = {c: store.read(c) for c in clients}
  threads = threads or os.cpu_count() or 1
  floor_config = next(iter(variants.values())).process
  step_trainers = [
      create_step_trainer(keras_model_fn, floor_config, shape, batch_size)
      for _ in range(threads)]
  step_pool = _Pool(step_trainers)
  # The whole-epoch floor's trainers are built only when it is timed.
  epoch_pool = _Pool([create_epoch_trainer(keras_model_fn, floor_config)
                      for _ in range(threads)]) if epoch_floor else None

  # Every round's floors start from the initial weights: the work per round
  # is the same, and the floors' results are not compared with TFF's here.
  def step_client(trainer, item):
    return trainer(weights, *item)

  def epoch_client(trainer, item):
    return trainer(weights, tf.data.Dataset.from_tensor_slices(
        item).batch(batch_size))

  def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start

  floors = [f for f in FLOORS if epoch_floor or f != EPOCH_PARALLEL]
  names = list(variants) + floors
  seconds = {name: [] for name in names}
  cpu = {name: [] for name in variants}
  used, pool = [], None

  def worker_cpu():
    return sum(w.cpu_seconds() for w in used)

  try:
    if workers > 1:
      for _ in range(workers):
        used.append(runtime.Worker(clients_in_parallel))
      pool = runtime.WorkerPool([w.address for w in used])
      for entry in tff_rounds.values():
        entry[0] = pool.wrap(entry[0])
    else:
      used.append(runtime.get_worker(clients_in_parallel))
    for r in range(rounds + 1):
      args = [(store.path(c), federated.client_seed(seed, r, c))
              for c in clients]
      times = {}
      for name, entry in tff_rounds.items():
        cpu_start = worker_cpu()
        times[name] = timed(
            lambda e=entry: e.__setitem__(1, e[0](e[1], args).state))
        if r > 0:
          cpu[name].append(worker_cpu() - cpu_start)
        progress()
      # The floors' data preparation (indexing numpy arrays) is not timed.
      items = [in_training_order(*arrays[c], seed, r, c, epochs)
               for c in clients]
      times[STEP_SERIAL] = timed(lambda: weighted_average(
          [step_client(step_trainers[0], i) for i in items]))
      times[STEP_PARALLEL] = timed(lambda: weighted_average(
          step_pool.map(step_client, items)))
      if epoch_pool:
        times[EPOCH_PARALLEL] = timed(lambda: weighted_average(
            epoch_pool.map(epoch_client, items)))
      for _ in floors:
        progress()
      if r > 0:
        for name in names:
          seconds[name].append(times[name])
    worker_peak = max(w.peak_memory_mb() for w in used)
  finally:
    step_pool.close()
    if epoch_pool:
      epoch_pool.close()
    if pool:
      pool.close()
    if workers > 1:
      for w in used:
        w.close()
  return OverheadResult(
      clients=len(clients), examples=sum(store.sizes.values()),
      threads=threads,
      seconds={k: tuple(v) for k, v in seconds.items()},
      worker_cpu_seconds={k: tuple(v) for k, v in cpu.items()},
      driver_peak_mb=resource.getrusage(
          resource.RUSAGE_SELF).ru_maxrss / 1024.0,
      worker_peak_mb=worker_peak, workers=workers)


def default_variants(before: bool) -> dict[str, Variant]:
  """The TFF variants to time.

  Args:
    before: Also time the project's earlier forms: the round as written
      with the iterator loop, and as written with TFF's default
      dataset-reduce loop (the project's round before issue 13).

  Returns:
    Name -> variant: plain and secure aggregation for each form.
  """
  kinds = [('', federated.ClientLoop.ITERATOR, forms.RoundForm.MAP_REDUCE)]
  if before:
    kinds += [
        (', as written', federated.ClientLoop.ITERATOR,
         forms.RoundForm.AS_WRITTEN),
        (', reduce loop', federated.ClientLoop.REDUCE,
         forms.RoundForm.AS_WRITTEN)]
  variants = {}
  for suffix, loop, form in kinds:
    for secure in (False, True):
      name = ('secure' if secure else 'plain') + suffix
      variants[name] = Variant(
          federated.ProcessConfig(secure=secure, client_loop=loop), form)
  return variants


def _times_epoch_floor(clients: int) -> bool:
  return clients <= EPOCH_FLOOR_MAX_CLIENTS


def run(
    task: base.Task,
    config: federated_experiment.ExperimentConfig,
    client_counts: Sequence[int],
    rounds: int,
    before: bool,
    progress: bool = False,
    worker_counts: Sequence[int] = (1,),
) -> dict[tuple[int, int], OverheadResult]:
  """Measures every client count on the task's training split.

  The training examples are dealt at random (seeded) to `n` equal clients,
  all of which train in every round.

  Args:
    task: The task.
    config: Its data, model, local epochs and batch size, worker
      concurrency and seed.
    client_counts: Clients per round, one measurement each.
    rounds: Measured rounds per variant (after one warm-up round).
    before: Also time the earlier round forms (`default_variants`).
    progress: Show a progress bar.
    worker_counts: Local TFF workers, one measurement each per client count.

  Returns:
    `(clients, workers)` -> `OverheadResult`.
  """
  train = task.load(config.data).train
  shape = train.features.shape[1:]
  variants = default_variants(before)
  steps = sum(
      len(worker_counts) * (rounds + 1) * (len(variants) + len(FLOORS) - (
          not _times_epoch_floor(n))) for n in client_counts)
  results = {}
  with console.progress(steps, 'overhead', 'round',
                        enabled=progress) as bar, \
      tempfile.TemporaryDirectory() as tmp:
    for n in client_counts:
      parts = partition.natural(
          np.zeros(len(train.labels), str), n, config.seed)
      store = federated.ClientStore(
          os.path.join(tmp, str(n)), shape, task.feature_dtype)
      store.write_partition(train.features, train.labels, parts)
      for w in worker_counts:
        bar.update(0, clients=n, workers=w)
        results[(n, w)] = measure(
            lambda: task.create_model(config.model, seed=0), store, variants,
            config.client_epochs, config.client_batch_size, rounds,
            config.clients_in_parallel, config.seed, progress=bar.update,
            workers=w, epoch_floor=_times_epoch_floor(n))
  return results
