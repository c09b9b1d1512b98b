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
"""Federated fine-tuning with TFF (GPT-FL, Sec. 3.3 "Federated Fine-tuning").

GPT-FL starts standard FL from the weights of a model pretrained on synthetic
data and adds no hyper-parameters beyond standard FL. This module builds the
standard FL processes:

  * FedAvg: weighted by client example counts; client SGD; server SGD at
    learning rate 1.0 (McMahan et al. 2017).
  * FedOpt: the same, with a server Adam or Yogi optimizer (Reddi et al.
    2021).
  * FedProx: FedAvg whose clients minimise their loss plus
    `proximal_strength / 2 * ||w - w_round_start||^2` (Li et al. 2020; the
    paper's Table 2 baseline). The client optimizer adds the proximal
    gradient `proximal_strength * (w - w_round_start)` to each step's
    gradient (`ProximalOptimizer`). TFF 0.87's `build_weighted_fed_prox` is
    not used: its client step adds `proximal_strength * (w_round_start - w)`,
    the wrong sign, which pushes clients away from the round's start
    (measured on a one-client problem: a round's update norm 1.22 with
    FedAvg, 101.6 with TFF's FedProx at mu = 5; docs/results.md, section 9;
    `tests/finetuning/federated_test.py` pins the sign).
  * SCAFFOLD: FedAvg whose clients correct their drift with control
    variates, the server's kept in the process state and each client's kept
    by the client between rounds (Karimireddy et al. 2020; the paper's
    Table 2 baseline; see `scaffold`). Clients run plain SGD.

Secure aggregation is on by default for everything computed from client
data:

  * Model updates go through `tff.learning.secure_aggregator(weighted=True)`,
    which applies, in order: adaptive zeroing (an update whose L2 norm exceeds
    an adaptively estimated threshold, initially 10, tracking the 98th
    percentile x2, is replaced by zeros); adaptive L2 clipping (norm clipped
    to an estimate of the 80th percentile of client norms, initially 0.1);
    weighting by example count; per-coordinate clipping to an adaptive bound
    (initially 50, tracking the 95th percentile x2 of the largest coordinate);
    uniform quantisation of each coordinate to an integer in [0, 2^32 - 1];
    and `tff.federated_secure_sum_bitwidth` of those integers. The example
    counts (weights) are clipped to [0, 2^20 - 1] and securely summed too.
    The norms and quantiles that drive the adaptive bounds are themselves
    estimated with secure sums of per-client indicator bits.
  * Training metrics go through `tff.learning.metrics.secure_sum_then_finalize`
    (each metric clipped to a range and securely summed).
  * The round's gradient diversity (paper Eq. 1) is measured from securely
    summed per-client terms (`diversity.GradientDiversityFactory`).
  * SCAFFOLD's control-variate changes go through a secure sum with an
    adaptive per-coordinate bound (`scaffold`); each client's own control
    variate never leaves the client.

With `ProcessConfig.dp` set, the model updates are aggregated by user-level
DP-FedAvg instead (`privacy`): clipped, securely summed, noised by the
server, unweighted; the gradient-diversity measurement is then off.

`tff.backends.test` contexts (see `runtime`) execute secure sums as plain
sums of the same quantised integers, so simulation reproduces production
arithmetic without the cryptography.

For speed, client datasets are not built in Python and shipped to the TFF
worker: each client's examples are written once as raw arrays, and a TFF
computation (`build_client_data_computation`) reads and shuffles them inside
the worker, so a round sends only file names and seeds; and clients loop
over their batches with an iterator, not TFF's default dataset reduce, whose
step function the worker instantiates again on every client call
(`ClientLoop`).
"""

import collections
import dataclasses
import enum
import hashlib
import os
from typing import Callable, Optional

import numpy as np
import tensorflow as tf
import tensorflow_federated as tff

from gptfl_tff import io_utils
from gptfl_tff import models
from gptfl_tff.finetuning import diversity
from gptfl_tff.finetuning import privacy
from gptfl_tff.finetuning import scaffold


class Algorithm(enum.Enum):
  FEDAVG = 'fedavg'
  FEDOPT = 'fedopt'
  FEDPROX = 'fedprox'
  SCAFFOLD = 'scaffold'


class ClientLoop(enum.Enum):
  """How a client iterates over its batches inside the TFF worker.

  ITERATOR (`tff.learning.LoopImplementation.DATASET_ITERATOR`) is a graph
  while-loop over the dataset's iterator; its training step is instantiated
  once per worker session and reused. REDUCE (`DATASET_REDUCE`, TFF's
  default) runs the step as the function of a `ReduceDataset` op, which the
  worker instantiates afresh on every client call: 0.24-0.42 s of CPU per
  client per round for the keyword model, whatever the client's size
  (docs/results.md, section 2). Both apply the same steps in the same order;
  their sums differ in the last bits only.
  """

  ITERATOR = 'iterator'
  REDUCE = 'reduce'


class ServerOptimizer(enum.Enum):
  SGD = 'sgd'
  ADAM = 'adam'
  YOGI = 'yogi'


@dataclasses.dataclass(frozen=True)
class ProcessConfig:
  """Hyper-parameters of a federated learning process.

  Attributes:
    algorithm: FedAvg (server SGD), FedOpt (server adaptive optimizer),
      FedProx (FedAvg with a proximal client loss) or SCAFFOLD (FedAvg with
      control variates).
    client_learning_rate: Client SGD learning rate.
    client_momentum: Client SGD momentum (0 for plain SGD). TFF resets the
      client optimizer state every round.
    server_learning_rate: Server learning rate (1.0 for FedAvg).
    server_optimizer: Server optimizer for FedOpt (ignored by FedAvg).
    secure: Aggregate updates and metrics with secure sums.
    adaptive_clipping: With `secure`, also clip update norms adaptively
      (TFF's default secure aggregator does; its initial bound of 0.1 slows
      early rounds from random init). Zeroing and the per-coordinate clipping
      and quantisation of the secure sum apply either way.
    client_loop: The clients' loop form (see `ClientLoop`); SCAFFOLD's
      clients always iterate.
    proximal_strength: FedProx's mu (> 0; ignored by the other algorithms).
    dp: User-level differential privacy of the model updates (`None`: off;
      see `privacy`). With `secure`, the DP sum is a secure sum.
  """

  algorithm: Algorithm = Algorithm.FEDAVG
  client_learning_rate: float = 0.05
  client_momentum: float = 0.9
  server_learning_rate: float = 1.0
  server_optimizer: ServerOptimizer = ServerOptimizer.ADAM
  secure: bool = True
  adaptive_clipping: bool = False
  client_loop: ClientLoop = ClientLoop.ITERATOR
  proximal_strength: float = 0.01
  dp: Optional[privacy.DPConfig] = None

  def __post_init__(self):
    if self.client_learning_rate <= 0 or self.server_learning_rate <= 0:
      raise ValueError(
          'Learning rates must be positive; got client '
          f'{self.client_learning_rate}, server {self.server_learning_rate}.'
      )
    if (
        self.algorithm == Algorithm.FEDOPT
        and self.server_optimizer == ServerOptimizer.SGD
    ):
      raise ValueError(
          'FedOpt needs an adaptive server optimizer: set '
          '--server_optimizer=adam or yogi; for server SGD use '
          '--algorithm=fedavg.'
      )
    if self.algorithm == Algorithm.FEDPROX and self.proximal_strength <= 0:
      raise ValueError(
          'FedProx needs a positive proximal strength: set '
          f'--proximal_strength > 0 (mu); got {self.proximal_strength}. '
          'With mu = 0 it is FedAvg: use --algorithm=fedavg.'
      )
    if self.algorithm == Algorithm.SCAFFOLD and self.client_momentum:
      raise ValueError(
          'SCAFFOLD\'s control variates assume plain client SGD (its option '
          f'II); got client momentum {self.client_momentum}. Set '
          '--client_momentum=0.')
    if self.algorithm == Algorithm.SCAFFOLD and self.dp is not None:
      raise ValueError(
          'Differential privacy is implemented for fedavg only; SCAFFOLD\'s '
          'control variates would reach the server unclipped and un-noised. '
          'Drop --dp_noise_multiplier/--target_epsilon or use '
          '--algorithm=fedavg.')


_LOOPS = {
    ClientLoop.ITERATOR: tff.learning.LoopImplementation.DATASET_ITERATOR,
    ClientLoop.REDUCE: tff.learning.LoopImplementation.DATASET_REDUCE,
}


class ProximalOptimizer(tff.learning.optimizers.Optimizer):
  """FedProx's local solver: another optimizer on loss + mu/2 ||w - w0||^2.

  `w0` is the weights at the first step after `initialize`; TFF initialises
  the client optimizer at the start of every client's round, so `w0` is the
  round's start, the model the server broadcast. Each step adds
  `mu * (w - w0)` to the gradients and hands them to the inner optimizer.
  Hyper-parameters (learning rate, momentum) are the inner optimizer's.
  """

  def __init__(self, inner: tff.learning.optimizers.Optimizer,
               proximal_strength: float):
    if proximal_strength < 0:
      raise ValueError(
          f'proximal_strength must be >= 0, got {proximal_strength}.')
    self._inner = inner
    self._mu = proximal_strength

  def initialize(self, specs):
    return collections.OrderedDict(
        inner=self._inner.initialize(specs),
        start=tf.nest.map_structure(
            lambda s: tf.zeros(s.shape, s.dtype), specs),
        started=tf.constant(False))

  def next(self, state, weights, gradients):
    started = state['started']
    start = tf.nest.map_structure(
        lambda s, w: tf.where(started, s, w), state['start'], weights)
    gradients = tf.nest.map_structure(
        lambda g, w, s: g + self._mu * (w - s), gradients, weights, start)
    inner, weights = self._inner.next(state['inner'], weights, gradients)
    return collections.OrderedDict(
        inner=inner, start=start, started=tf.constant(True)), weights

  def get_hparams(self, state):
    return self._inner.get_hparams(state['inner'])

  def set_hparams(self, state, hparams):
    state = collections.OrderedDict(state)
    state['inner'] = self._inner.set_hparams(state['inner'], hparams)
    return state


def _server_optimizer(
    config: ProcessConfig,
) -> tff.learning.optimizers.Optimizer:
  lr = config.server_learning_rate
  if config.algorithm != Algorithm.FEDOPT:
    return tff.learning.optimizers.build_sgdm(learning_rate=lr)
  if config.server_optimizer == ServerOptimizer.ADAM:
    return tff.learning.optimizers.build_adam(
        learning_rate=lr, beta_1=0.9, beta_2=0.99, epsilon=1e-3
    )
  return tff.learning.optimizers.build_yogi(
      learning_rate=lr, beta_1=0.9, beta_2=0.99, epsilon=1e-3
  )


def element_spec(feature_shape: tuple[int, ...]) -> tuple[tf.TensorSpec, ...]:
  """The batched `(features, labels)` spec that client datasets yield."""
  return (
      tf.TensorSpec((None,) + tuple(feature_shape), tf.float32),
      tf.TensorSpec((None,), tf.int32),
  )


def create_tff_model_fn(
    keras_model_fn: Callable[[], tf.keras.Model],
    feature_shape: tuple[int, ...],
) -> Callable[[], tff.learning.models.VariableModel]:
  """Wraps a Keras model builder as a TFF model builder (logits, int labels).

  Args:
    keras_model_fn: No-argument function returning an uncompiled Keras model.
    feature_shape: Shape of one example's features.

  Returns:
    A no-argument function returning a `tff.learning.models.VariableModel`.
  """

  def model_fn():
    return tff.learning.models.from_keras_model(
        keras_model_fn(),
        loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        input_spec=element_spec(feature_shape),
        metrics=[tf.keras.metrics.SparseCategoricalAccuracy()],
    )

  return model_fn


def build_learning_process(
    model_fn: Callable[[], tff.learning.models.VariableModel],
    config: ProcessConfig,
    population: Optional[int] = None,
) -> tff.learning.templates.LearningProcess:
  """Builds FedAvg / FedOpt / FedProx / SCAFFOLD (see module docstring).

  Updates are weighted by example counts, except under DP (`config.dp`),
  whose mean is unweighted.

  Args:
    model_fn: Returns a fresh `tff.learning.models.VariableModel`.
    config: The process's hyper-parameters.
    population: The number of clients in the federation (SCAFFOLD's N).

  Returns:
    A `tff.learning.templates.LearningProcess` whose `next` takes
    `(state, client_data)`: each client's dataset, or for SCAFFOLD its
    dataset and state file names (`scaffold.client_data_type`).

  Raises:
    ValueError: For SCAFFOLD without a population.
  """
  if config.secure:
    model_aggregator = tff.learning.secure_aggregator(
        zeroing=True, clipping=config.adaptive_clipping, weighted=True
    )
    metrics_aggregator = tff.learning.metrics.secure_sum_then_finalize
  else:
    model_aggregator = tff.aggregators.MeanFactory()
    metrics_aggregator = tff.learning.metrics.sum_then_finalize
  # Every round also measures the gradient diversity of its client updates
  # (paper Eq. 1), through secure sums (see `diversity`).
  model_aggregator = diversity.GradientDiversityFactory(model_aggregator)
  build = tff.learning.algorithms.build_weighted_fed_avg
  if config.dp is not None:
    model_aggregator = privacy.build_dp_factory(config.dp, config.secure)
    build = tff.learning.algorithms.build_unweighted_fed_avg
  client_optimizer = tff.learning.optimizers.build_sgdm(
      learning_rate=config.client_learning_rate,
      momentum=config.client_momentum or None,
  )
  if config.algorithm == Algorithm.FEDPROX:
    client_optimizer = ProximalOptimizer(client_optimizer,
                                         config.proximal_strength)
  if config.algorithm == Algorithm.SCAFFOLD:
    weights_type = tff.learning.models.weights_type_from_model(model_fn)

    @tff.tensorflow.computation
    def initial_weights():
      return tff.learning.models.ModelWeights.from_model(model_fn())

    return tff.learning.templates.compose_learning_process(
        initial_weights,
        tff.learning.templates.build_broadcast_process(weights_type),
        scaffold.build_client_work(
            model_fn, config.client_learning_rate, population,
            config.secure, metrics_aggregator),
        model_aggregator.create(weights_type.trainable,
                                tff.TensorType(np.float32)),
        tff.learning.templates.build_apply_optimizer_finalizer(
            _server_optimizer(config), weights_type))
  return build(
      model_fn,
      client_optimizer_fn=client_optimizer,
      server_optimizer_fn=_server_optimizer(config),
      model_aggregator=model_aggregator,
      metrics_aggregator=metrics_aggregator,
      loop_implementation=_LOOPS[config.client_loop],
  )


class ClientStore:
  """Clients' examples as raw arrays on disk, readable inside TFF.

  Each client `c` is two files, `{root}/{c}.x` (features, C order) and
  `{root}/{c}.y` (int32 labels), written atomically. Features are float32,
  or uint8 for images (4x smaller; the client dataset maps them to the
  model input with `models.image_model_input`).
  """

  def __init__(self, root: str, feature_shape: tuple[int, ...],
               feature_dtype: type = np.float32):
    if feature_dtype not in (np.float32, np.uint8):
      raise ValueError(
          f'feature_dtype must be float32 or uint8, got {feature_dtype}.')
    self.root = root
    self.feature_shape = tuple(feature_shape)
    self.feature_dtype = feature_dtype
    self.sizes: dict[str, int] = {}

  def path(self, client_id: str) -> str:
    return os.path.join(self.root, client_id)

  def write(self, client_id: str, features: np.ndarray, labels: np.ndarray):
    """Stores one client's examples.

    Raises:
      ValueError: If the client has no examples or shapes disagree.
    """
    if len(labels) == 0:
      raise ValueError(
          f'Client {client_id!r} has no examples; drop it from the partition '
          'or raise min_examples.'
      )
    if features.shape[1:] != self.feature_shape or len(features) != len(
        labels
    ):
      raise ValueError(
          f'Client {client_id!r}: features {features.shape} and labels '
          f'{labels.shape} do not match feature shape {self.feature_shape}.'
      )
    for suffix, array in (
        ('.x', features.astype(self.feature_dtype)),
        ('.y', labels.astype(np.int32)),
    ):
      with io_utils.atomic_path(self.path(client_id) + suffix) as tmp:
        np.ascontiguousarray(array).tofile(tmp)
    self.sizes[client_id] = len(labels)

  def write_partition(self, features: np.ndarray, labels: np.ndarray,
                      parts: dict[str, np.ndarray]) -> None:
    """Stores every client of a partition (`client_id -> indices`)."""
    for client_id, idx in parts.items():
      self.write(client_id, features[idx], labels[idx])

  def read(self, client_id: str) -> tuple[np.ndarray, np.ndarray]:
    """One client's `(features, labels)` as model input (float32 features)."""
    x = np.fromfile(self.path(client_id) + '.x', self.feature_dtype)
    x = x.reshape((-1,) + self.feature_shape)
    if self.feature_dtype == np.uint8:
      x = models.image_model_input(x).numpy()
    return x, np.fromfile(self.path(client_id) + '.y', np.int32)


def make_client_dataset(
    path: tf.Tensor,
    seed: tf.Tensor,
    feature_shape: tuple[int, ...],
    epochs: int,
    batch_size: int,
    feature_dtype: type = np.float32,
) -> tf.data.Dataset:
  """Reads one client's arrays and yields `epochs` seeded shuffles, batched.

  Args:
    path: Scalar string, the client's path in a `ClientStore`.
    seed: Scalar int64; each epoch's order is a function of it.
    feature_shape: Shape of one example's features.
    epochs: Local epochs.
    batch_size: Local batch size.
    feature_dtype: The store's feature dtype (uint8: images, mapped to
      float32 model input).

  Returns:
    A dataset of `(features, labels)` batches, features float32.
  """
  x = tf.io.decode_raw(tf.io.read_file(path + '.x'), tf.as_dtype(feature_dtype))
  x = tf.reshape(x, (-1,) + tuple(feature_shape))
  if feature_dtype == np.uint8:
    x = models.image_model_input(x)
  y = tf.io.decode_raw(tf.io.read_file(path + '.y'), tf.int32)
  order = client_order(seed, tf.shape(y)[0], epochs)
  return tf.data.Dataset.from_tensor_slices(
      (tf.gather(x, order), tf.gather(y, order))
  ).batch(batch_size)


def client_order(seed, num_examples, epochs: int) -> tf.Tensor:
  """A client's example order for `epochs` passes: a function of `seed`.

  Args:
    seed: Scalar int64 (see `client_seed`).
    num_examples: The client's example count.
    epochs: Local epochs; each is a fresh permutation.

  Returns:
    An int32 vector of `epochs * num_examples` indices.
  """
  seed = tf.cast(seed, tf.int64)
  return tf.concat([
      tf.argsort(tf.random.stateless_uniform(
          [num_examples], seed=tf.stack([seed, tf.constant(e, tf.int64)])))
      for e in range(epochs)
  ], axis=0)


def build_client_data_computation(
    feature_shape: tuple[int, ...], epochs: int, batch_size: int,
    feature_dtype: type = np.float32,
) -> tff.Computation:
  """A TFF computation `(path, seed) -> dataset` run inside the worker."""

  @tff.tensorflow.computation(np.str_, np.int64)
  def client_data(path, seed):
    return make_client_dataset(path, seed, feature_shape, epochs, batch_size,
                               feature_dtype)

  return client_data


def build_round_computation(
    process: tff.learning.templates.LearningProcess,
    client_data: tff.Computation,
) -> tff.Computation:
  """Composes dataset construction with `process.next`.

  Args:
    process: A learning process whose `next` takes client datasets.
    client_data: `(path, seed) -> dataset` (see
      `build_client_data_computation`).

  Returns:
    A computation `(state, <path, seed>@CLIENTS) -> LearningProcessOutput`;
    for a process whose clients keep state (SCAFFOLD), each client's
    argument is `<path, seed, state_in, state_out>`.
  """
  state_type = process.next.type_signature.parameter[0]
  stateful = uses_client_state(process)
  fields = [(name, np.str_) for name in scaffold.STATE_FIELDS]
  arg_type = tff.FederatedType(
      tff.StructType(
          list(tff.structure.iter_elements(
              client_data.type_signature.parameter)) +
          (fields if stateful else [])),
      tff.CLIENTS)

  @tff.federated_computation(state_type, arg_type)
  def round_fn(state, client_args):
    datasets = tff.federated_map(client_data, (client_args[0],
                                               client_args[1]))
    if stateful:
      datasets = tff.federated_zip(collections.OrderedDict([
          (scaffold.DATA, datasets),
          (scaffold.STATE, tff.federated_map(
              scaffold.build_state_dataset(),
              tuple(getattr(client_args, name)
                    for name in scaffold.STATE_FIELDS)))]))
    return process.next(state, datasets)

  return round_fn


def uses_client_state(
    process: tff.learning.templates.LearningProcess) -> bool:
  """Whether `process`'s clients keep state between rounds (SCAFFOLD).

  Args:
    process: A process from `build_learning_process`.

  Returns:
    True if its client data carries state files (`scaffold.STATE`).
  """
  member = process.next.type_signature.parameter[1].member
  return isinstance(member, tff.StructType) and tff.structure.has_field(
      member, scaffold.STATE)


def client_seed(seed: int, round_num: int, client_id: str) -> int:
  """A per-round, per-client data seed, a function of its arguments only."""
  digest = hashlib.sha256(f'{seed}/{round_num}/{client_id}'.encode()).digest()
  return int.from_bytes(digest[:8], 'little') >> 1


def set_initial_weights(
    process: tff.learning.templates.LearningProcess,
    state,
    keras_model: tf.keras.Model,
):
  """Returns `state` with its model weights taken from `keras_model`."""
  weights = tff.learning.models.ModelWeights.from_model(keras_model)
  return process.set_model_weights(state, weights)
