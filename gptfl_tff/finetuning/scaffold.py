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
"""SCAFFOLD's client work and its per-client state (GPT-FL Table 2 baseline).

SCAFFOLD (Karimireddy et al. 2020, Algorithm 1 with option II) corrects each
client's drift with control variates: the server keeps `c`, each client `i`
keeps its own `c_i` between the rounds it takes part in. In a round, with
server model `x`, client `i` starting from `y = x` runs `K` plain SGD steps
at learning rate `lr`,

    y <- y - lr * (g_i(y) - c_i + c),

then sets `c_i+ = c_i - c + (x - y) / (K * lr)` and sends `x - y` (the
model update, weighted by its example count as FedAvg weights it) and
`dc_i = c_i+ - c_i`. The server applies the mean model update with its
optimizer (SGD at the server learning rate, the paper's `eta_g`) and sets
`c <- c + sum_i dc_i / N`, `N` the population size, i.e.
`|S|/N * mean_i dc_i` as in the paper's Algorithm 1. Option II assumes
plain SGD on clients, so SCAFFOLD runs with client momentum 0.

Secure aggregation: the model updates go through the same aggregator as
FedAvg's (`federated.build_learning_process`); `dc_i` goes through
`tff.aggregators.SecureSumFactory` with an adaptive per-coordinate bound
(initially 50, tracking the 95th percentile x2 of each client's largest
coordinate, estimated from secure sums, as TFF's secure aggregator bounds
model updates); a coordinate beyond the bound is clipped. Two departures
from the algorithm as written follow from secure aggregation and are
counted, not hidden: a clipped `dc_i` coordinate reaches `c` clipped while
the client keeps its own `c_i+` unclipped, and a client update the model
aggregator zeroes (TFF's adaptive zeroing of outliers) still sends its
`dc_i`. The round's clipped coordinates are in the measurements
(`client_work/control_sum`).

Per-client state (simulation of the paper's cross-silo setting). A client
keeps `c_i` itself: the round hands each client two file names,
`state_in` (its `c_i`, empty for a client that has not taken part yet: zeros)
and `state_out` (where it writes `c_i+`), read and written inside the
client's TensorFlow computation, so `c_i` never reaches the server and the
round still compiles to MapReduceForm. `ClientStates` names the files: one
per client and round it took part in (`{client}.r{round:06d}`), so a run
killed mid-round and resumed from its last checkpoint reads exactly the
states that checkpoint saw, and replays the later rounds, rewriting their
files with the same values. Older files are removed after each checkpoint.
The files sit in the run's folder (`training_loop.run`); with `--workers`
on several machines that folder must be one every worker can write, like
`--client_store_dir`. Two local workers train as one, bit for bit
(docs/results.md, section 11).
"""

import collections
import functools
import os
import re
from typing import Callable

import numpy as np
import tensorflow as tf
import tensorflow_federated as tff

from gptfl_tff import errors

# The file names a SCAFFOLD client's data carries besides its examples.
STATE_FIELDS = ('state_in', 'state_out')
_STATE_RE = re.compile(r'^(.+)\.r(\d{6,})$')
# The fields of a SCAFFOLD client's data.
DATA, STATE = 'data', 'state'
# The control-variate sum's adaptive bound (see module docstring).
_BOUND = dict(initial_estimate=50.0, target_quantile=0.95, learning_rate=1.0,
              multiplier=2.0)


def client_data_type(
    element_type: tff.types.Type) -> tff.StructType:
  """A SCAFFOLD client's data: `<data=examples, state=<file names>*>`.

  The file names (`STATE_FIELDS`) travel as a one-element dataset so that
  the client data is a structure of sequences, as TFF's
  `ClientWorkProcess` requires.

  Args:
    element_type: The type of one batch of examples.

  Returns:
    The struct type.
  """
  return tff.StructType([
      (DATA, tff.SequenceType(element_type)),
      (STATE, tff.SequenceType(
          tff.StructType([(name, np.str_) for name in STATE_FIELDS])))])


def build_state_dataset() -> tff.Computation:
  """`(state_in, state_out) -> ` the `state` part of a client's data."""

  @tff.tensorflow.computation(np.str_, np.str_)
  def state_dataset(state_in, state_out):
    return tf.data.Dataset.from_tensors(
        collections.OrderedDict(zip(STATE_FIELDS, (state_in, state_out))))

  return state_dataset


def _flat(structure) -> tf.Tensor:
  return tf.concat([tf.reshape(t, [-1]) for t in tf.nest.flatten(structure)],
                   axis=0)


def _unflat(flat: tf.Tensor, like):
  leaves = tf.nest.flatten(like)
  sizes = [int(np.prod(t.shape)) for t in leaves]
  parts = tf.split(flat, sizes)
  return tf.nest.pack_sequence_as(
      like, [tf.reshape(p, t.shape) for p, t in zip(parts, leaves)])


def read_state(path: tf.Tensor, like):
  """A client's `c_i` from `path` (written by a round), shaped like `like`.

  Args:
    path: Scalar string; empty for a client with no state yet (zeros).
    like: Tensors (or specs) of the trainable weights' shapes.

  Returns:
    The control variate, structured like `like`.
  """
  size = sum(int(np.prod(t.shape)) for t in tf.nest.flatten(like))
  flat = tf.cond(
      tf.equal(path, ''),
      lambda: tf.zeros([size], tf.float32),
      lambda: tf.ensure_shape(
          tf.io.parse_tensor(tf.io.read_file(path), tf.float32), [size]))
  return _unflat(flat, like)


def load_state(path: str, like) -> list[np.ndarray]:
  """`read_state` in Python, for reports and tests.

  Args:
    path: A state file ('' for zeros).
    like: Tensors (or specs) of the trainable weights' shapes.

  Returns:
    The control variate's tensors, flattened in order.
  """
  return [t.numpy() for t in tf.nest.flatten(
      read_state(tf.constant(path), like))]


def build_client_work(
    model_fn: Callable[[], tff.learning.models.VariableModel],
    learning_rate: float,
    population: int,
    secure: bool,
    metrics_aggregator,
) -> tff.learning.templates.ClientWorkProcess:
  """SCAFFOLD's client work (see module docstring).

  Its state is `<control=c, control_sum=the dc sum's state>` at the server;
  its `next` takes `(state, weights@CLIENTS, client data@CLIENTS)` (the
  examples and the state file names, `client_data_type`) and returns each
  client's model update (weighted by example count) and the measurements
  `<train=metrics, control_sum=the dc sum's measurements>`.

  Args:
    model_fn: Returns a fresh `tff.learning.models.VariableModel`.
    learning_rate: Client SGD learning rate (no momentum).
    population: N, the number of clients in the federation (required).
    secure: Sum `dc_i` with a secure sum (else a plain sum).
    metrics_aggregator: Aggregates training metrics (as TFF's
      `metrics_aggregator` argument).

  Returns:
    A `tff.learning.templates.ClientWorkProcess`.

  Raises:
    ValueError: For a non-positive learning rate or a missing or
      non-positive population.
  """
  if learning_rate <= 0 or not population or population < 1:
    raise ValueError(
        'SCAFFOLD needs learning_rate > 0 and the population size N >= 1 '
        f'(pass population=<number of clients>); got {learning_rate} and '
        f'{population}.')
  with tf.Graph().as_default():
    model = model_fn()
    metrics_fn = metrics_aggregator(model.metric_finalizers())
    element_type = tff.types.tensorflow_to_type(model.input_spec)
  weights_type = tff.learning.models.weights_type_from_model(model_fn)
  control_type = weights_type.trainable
  data_type = client_data_type(element_type)
  if secure:
    bound = tff.aggregators.PrivateQuantileEstimationProcess.no_noise(
        secure_estimation=True, **_BOUND)
    control_sum = tff.aggregators.SecureSumFactory(bound)
  else:
    control_sum = tff.aggregators.SumFactory()
  control_sum = control_sum.create(control_type)

  @tff.tensorflow.computation
  def zeros():
    return tf.nest.map_structure(
        tf.zeros_like,
        tff.learning.models.ModelWeights.from_model(model_fn()).trainable)

  @tff.federated_computation
  def init_fn():
    return tff.federated_zip(collections.OrderedDict(
        control=tff.federated_eval(zeros, tff.SERVER),
        control_sum=control_sum.initialize()))

  @tff.tensorflow.computation(control_type, weights_type, data_type)
  def client_update(control, initial_weights, client_data):
    data, state = client_data
    return tf.function(functools.partial(_client_update, model_fn(),
                                         learning_rate))(
        control, initial_weights, data, state)

  @tff.tensorflow.computation(control_type, control_type)
  def apply_sum(control, total):
    return tf.nest.map_structure(lambda c, s: c + s / population, control,
                                 total)

  @tff.federated_computation(
      init_fn.type_signature.result,
      tff.FederatedType(weights_type, tff.CLIENTS),
      tff.FederatedType(data_type, tff.CLIENTS))
  def next_fn(state, weights, client_data):
    result, control_delta, outputs = tff.federated_map(
        client_update,
        (tff.federated_broadcast(state.control), weights, client_data))
    summed = control_sum.next(state.control_sum, control_delta)
    new_state = tff.federated_zip(collections.OrderedDict(
        control=tff.federated_map(apply_sum, (state.control, summed.result)),
        control_sum=summed.state))
    measurements = tff.federated_zip(collections.OrderedDict(
        train=metrics_fn(outputs), control_sum=summed.measurements))
    return tff.templates.MeasuredProcessOutput(new_state, result,
                                               measurements)

  return tff.learning.templates.ClientWorkProcess(init_fn, next_fn)


def _client_update(model, learning_rate, control, initial_weights, data,
                   state):
  """One SCAFFOLD client (module docstring); returns update, dc_i, metrics."""
  weights = tff.learning.models.ModelWeights.from_model(model)
  tf.nest.map_structure(lambda v, t: v.assign(t), weights, initial_weights)
  files = state.get_single_element()
  state_in, state_out = files['state_in'], files['state_out']
  control = tf.nest.flatten(control)
  own = tf.nest.flatten(read_state(state_in, control))
  correction = [c - ci for c, ci in zip(control, own)]
  trainable = tf.nest.flatten(weights.trainable)
  num_examples = tf.constant(0, tf.int64)
  steps = tf.constant(0, tf.int64)
  for batch in iter(data):
    with tf.GradientTape() as tape:
      output = model.forward_pass(batch, training=True)
    gradients = tape.gradient(output.loss, trainable)
    for v, g, k in zip(trainable, gradients, correction):
      v.assign_sub(learning_rate * (g + k))
    num_examples += tf.cast(output.num_examples, tf.int64)
    steps += 1
  update = [a - b for a, b in
            zip(tf.nest.flatten(initial_weights.trainable), trainable)]
  scale = 1.0 / (tf.cast(tf.maximum(steps, 1), tf.float32) * learning_rate)
  delta = [u * scale - c for u, c in zip(update, control)]
  finite = tf.logical_and(steps > 0, tf.reduce_all(
      [tf.reduce_all(tf.math.is_finite(t)) for t in update + delta]))
  # A client that diverged (or had no batch) sends nothing (weight 0, zero
  # updates) and keeps its control variate, as TFF's FedAvg client zeroes
  # non-finite updates.
  update = [tf.where(finite, t, tf.zeros_like(t)) for t in update]
  delta = [tf.where(finite, t, tf.zeros_like(t)) for t in delta]
  written = tf.io.write_file(
      state_out,
      tf.io.serialize_tensor(_flat([ci + d for ci, d in zip(own, delta)])))
  if not finite:
    model.reset_metrics()
  with tf.control_dependencies([written]):
    weight = tf.where(finite, tf.cast(num_examples, tf.float32), 0.0)
  return (
      tff.learning.templates.ClientResult(
          update=tf.nest.pack_sequence_as(initial_weights.trainable, update),
          update_weight=weight),
      tf.nest.pack_sequence_as(initial_weights.trainable, delta),
      model.report_local_unfinalized_metrics(),
  )


class ClientStates:
  """The files holding each client's `c_i` between rounds.

  See the module docstring. The files are read and written by the clients
  (the TFF workers); this class, on the coordinator, names them and removes
  old ones, so the coordinator and every worker must see one folder.

  Attributes:
    root: The folder of the state files.
  """

  def __init__(self, root: str, after_round: int):
    """Indexes `root`, dropping states of rounds after `after_round`.

    Args:
      root: The state folder (created if missing).
      after_round: The round the run resumes after (0: a fresh start, every
        file is removed). Files of later rounds belong to rounds the run is
        about to replay.

    Raises:
      errors.UserError: If `root` holds a file that is not a client state.
    """
    self.root = root
    os.makedirs(root, exist_ok=True)
    self._rounds: dict[str, list[int]] = collections.defaultdict(list)
    for name in sorted(os.listdir(root)):
      match = _STATE_RE.match(name)
      if not match:
        raise errors.UserError(
            f'{os.path.join(root, name)} is not a SCAFFOLD client state '
            '(client.rNNNNNN). The folder is the run\'s own: move the file '
            'away, or start afresh with another --experiment_name or '
            '--redo_from=federated.')
      round_num = int(match.group(2))
      if round_num > after_round:
        os.remove(os.path.join(root, name))
      else:
        self._rounds[match.group(1)].append(round_num)
    for rounds in self._rounds.values():
      rounds.sort()

  def _path(self, client_id: str, round_num: int) -> str:
    return os.path.join(self.root, f'{client_id}.r{round_num:06d}')

  def paths(self, client_id: str, round_num: int) -> tuple[str, str]:
    """`(state_in, state_out)` of a client taking part in `round_num`.

    Args:
      client_id: The client.
      round_num: The round it takes part in.

    Returns:
      `state_in`, its state from the latest earlier round it took part in
      ('' if none), and `state_out`, recorded as its newest.

    Raises:
      errors.UserError: If that earlier state file is missing here (the
        workers wrote it to a folder this process does not see).
    """
    rounds = self._rounds[client_id]
    earlier = [r for r in rounds if r < round_num]
    state_in = self._path(client_id, earlier[-1]) if earlier else ''
    if state_in and not os.path.exists(state_in):
      raise errors.UserError(
          f'SCAFFOLD state {state_in} is missing: the workers must write the '
          'run folder this process reads. With --workers on other machines, '
          'put --root_output_dir on a filesystem they all share.')
    if round_num not in rounds:
      rounds.append(round_num)
    return state_in, self._path(client_id, round_num)

  def prune(self, round_num: int) -> None:
    """Removes states no round after `round_num` reads.

    Keeps each client's newest state up to `round_num`, and every later one.
    Call it with the round of the oldest checkpoint a run may resume from.

    Args:
      round_num: The round.
    """
    for client_id, rounds in self._rounds.items():
      done = [r for r in rounds if r <= round_num]
      for r in done[:-1]:
        path = self._path(client_id, r)
        if os.path.exists(path):
          os.remove(path)
        rounds.remove(r)
