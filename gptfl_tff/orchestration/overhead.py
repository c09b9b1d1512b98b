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

The floor is the same local training (same model, same client datasets with
the same seeded order, same client optimizer, one pass per local epoch) done
as plain Keras / `tf.function` loops in one Python process, plus the
weighted average of the resulting models. Two floors are measured:

  * serial: clients one after another. On small models TensorFlow uses about
    one core per training loop, so this floor leaves the other cores idle.
  * parallel: the same loops on `threads` Python threads (one model copy per
    thread; TF releases the GIL), which is how TFF's worker runs clients.

The ratio `tff_round_seconds / floor_seconds` is what the TFF simulation
costs beyond the arithmetic of local training; the parallel floor is the one
that compares like with like on a multi-core machine.

Both floors use the Keras GRU's plain graph implementation (`standard_gru`),
which is the one TFF's graph-mode tracing selects; TF2 `tf.function` would
otherwise take the backend-selection path, whose gradient is about 20%
slower on CPU here, and the floor would be inflated.
"""

import concurrent.futures
import dataclasses
import os
import statistics
import threading
import time
from typing import Callable, Sequence

import numpy as np
import tensorflow as tf

from gptfl_tff import federated
from gptfl_tff import runtime


@dataclasses.dataclass(frozen=True)
class OverheadResult:
  """Median seconds per round, and each measured round."""

  secure: bool
  tff_seconds: tuple[float, ...]
  tff_python_datasets_seconds: tuple[float, ...]
  serial_floor_seconds: tuple[float, ...]
  parallel_floor_seconds: tuple[float, ...]
  threads: int

  @property
  def tff_median(self) -> float:
    return statistics.median(self.tff_seconds)

  @property
  def tff_python_datasets_median(self) -> float:
    return statistics.median(self.tff_python_datasets_seconds)

  @property
  def serial_floor_median(self) -> float:
    return statistics.median(self.serial_floor_seconds)

  @property
  def parallel_floor_median(self) -> float:
    return statistics.median(self.parallel_floor_seconds)

  @property
  def serial_ratio(self) -> float:
    return self.tff_median / self.serial_floor_median

  @property
  def parallel_ratio(self) -> float:
    return self.tff_median / self.parallel_floor_median

  @property
  def python_datasets_parallel_ratio(self) -> float:
    return self.tff_python_datasets_median / self.parallel_floor_median


def _use_graph_gru(model: tf.keras.Model) -> tf.keras.Model:
  """Makes Keras GRUs take `standard_gru`, as under TFF's graph tracing."""
  for layer in model.submodules:
    if isinstance(layer, tf.keras.layers.GRU):
      layer._could_use_gpu_kernel = False  # pylint: disable=protected-access
  return model


def create_local_trainer(
    keras_model_fn: Callable[[], tf.keras.Model],
    config: federated.ProcessConfig,
) -> Callable[[list[np.ndarray], tf.data.Dataset],
              tuple[list[np.ndarray], int]]:
  """Plain local training: `(weights, dataset) -> (new_weights, examples)`."""
  model = _use_graph_gru(keras_model_fn())
  loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
  optimizer = tf.keras.optimizers.SGD(
      config.client_learning_rate, momentum=config.client_momentum
  )
  optimizer.build(model.trainable_variables)

  @tf.function
  def train(dataset):
    count = tf.constant(0, tf.int32)
    for x, y in dataset:
      with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
      grads = tape.gradient(loss, model.trainable_variables)
      optimizer.apply_gradients(zip(grads, model.trainable_variables))
      count += tf.shape(y)[0]
    return count

  def trainer(weights, dataset):
    model.set_weights(weights)
    for v in optimizer.variables[1:]:  # Momentum resets every round, as TFF.
      v.assign(tf.zeros_like(v))
    n = int(train(dataset))
    return model.get_weights(), n

  return trainer


def measure(
    keras_model_fn: Callable[[], tf.keras.Model],
    store: federated.ClientStore,
    config: federated.ProcessConfig,
    epochs: int,
    batch_size: int,
    rounds: int = 5,
    clients_in_parallel: int = -1,
    seed: int = 0,
    threads: int = 0,
) -> OverheadResult:
  """Times `rounds` TFF rounds and the same rounds as plain loops.

  One warm-up round of each (tracing, compilation, worker start) is run
  first and not counted.

  Args:
    keras_model_fn: Builds the model.
    store: The clients' data; every client takes part in every round.
    config: Process settings (secure or not, learning rates).
    epochs: Local epochs.
    batch_size: Local batch size.
    rounds: Measured rounds.
    clients_in_parallel: Worker concurrency (see `runtime`).
    seed: Data-order seed.
    threads: Threads of the parallel floor; 0 means one per CPU core.

  Returns:
    An `OverheadResult`.
  """
  shape = store.feature_shape
  runtime.set_default_context(runtime.ContextKind.TEST, clients_in_parallel)
  process = federated.build_learning_process(
      federated.create_tff_model_fn(keras_model_fn, shape), config
  )
  round_fn = federated.build_round_computation(
      process,
      federated.build_client_data_computation(shape, epochs, batch_size),
  )
  state = federated.set_initial_weights(
      process, process.initialize(), keras_model_fn()
  )
  clients: Sequence[str] = sorted(store.sizes)
  threads = threads or os.cpu_count() or 1
  trainers = [create_local_trainer(keras_model_fn, config)
              for _ in range(threads)]
  free = list(trainers)
  lock = threading.Lock()
  weights = keras_model_fn().get_weights()

  def train_client(r, c, trainer=None):
    if trainer is None:
      with lock:
        trainer = free.pop()
    try:
      ds = federated.make_client_dataset(
          tf.constant(store.path(c)),
          tf.constant(federated.client_seed(seed, r, c), tf.int64),
          shape, epochs, batch_size,
      )
      return trainer(weights, ds)
    finally:
      if trainer not in free:
        with lock:
          free.append(trainer)

  def average(results):
    total = sum(n for _, n in results)
    return [
        sum(n * w[i] for w, n in results) / total
        for i in range(len(weights))
    ]

  def serial_round(r):
    return average([train_client(r, c, trainers[0]) for c in clients])

  pool = concurrent.futures.ThreadPoolExecutor(threads)

  def parallel_round(r):
    return average(list(pool.map(lambda c: train_client(r, c), clients)))

  def python_datasets(r):
    """The straightforward set-up: datasets built in Python, sent to TFF."""
    out = []
    for c in clients:
      x = np.fromfile(store.path(c) + '.x', np.float32).reshape((-1,) + shape)
      y = np.fromfile(store.path(c) + '.y', np.int32)
      order = np.random.default_rng([seed, r]).permutation(len(y))
      out.append(tf.data.Dataset.from_tensor_slices(
          (x[order], y[order])).repeat(epochs).batch(batch_size))
    return out

  py_state = state
  tff_times, py_times, serial_times, parallel_times = [], [], [], []
  try:
    for r in range(rounds + 1):
      args = [
          (store.path(c), federated.client_seed(seed, r, c)) for c in clients
      ]
      start = time.perf_counter()
      state = round_fn(state, args).state
      t_tff = time.perf_counter() - start
      start = time.perf_counter()
      py_state = process.next(py_state, python_datasets(r)).state
      t_py = time.perf_counter() - start
      start = time.perf_counter()
      serial_round(r)
      t_serial = time.perf_counter() - start
      start = time.perf_counter()
      weights = parallel_round(r)
      t_parallel = time.perf_counter() - start
      if r > 0:
        tff_times.append(t_tff)
        py_times.append(t_py)
        serial_times.append(t_serial)
        parallel_times.append(t_parallel)
  finally:
    pool.shutdown()
  return OverheadResult(
      config.secure, tuple(tff_times), tuple(py_times), tuple(serial_times),
      tuple(parallel_times), threads,
  )
