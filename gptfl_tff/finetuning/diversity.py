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
"""Gradient diversity of client updates under secure aggregation.

GPT-FL, Sec. 5 ("Generated Downstream Model Helps FL Optimization", Eq. 1,
Figs. 6-7) explains part of GPT-FL's gain by the gradient diversity of the
round's client updates (Yin et al. 2018, with gradients replaced by updates):

    D = sum_i ||u_i||^2 / ||sum_i u_i||^2.

Here `u_i = n_i * delta_i` is client i's update weighted as FedAvg weights
it (`n_i` its example count), so `sum_i u_i` is the numerator of the
weighted mean the server applies; with equal client sizes this is exactly
Eq. 1 on the raw updates. D >= 1/|S| (equal updates) and D = 1 for one
client; larger D means client updates that cancel.

Nothing a single client sends reaches the server outside a secure sum:

  * each client computes `n_i^2 ||delta_i||^2` in float64, in fixed point
    with `FRACTION_BITS` fractional bits, clipped to `VALUE_BITS` bits (a
    clipped client is counted in `gradient_diversity_clipped`), and sends it
    through `federated_secure_sum_bitwidth` with its example count;
  * the denominator is `(sum_i n_i)^2 ||mean||^2`, computed on the server
    from the aggregate the inner aggregator produces.

So D is measured on the updates as sent and the mean as applied: if the
inner aggregator zeroes or clips an update (TFF's secure aggregator zeroes
outliers), the two differ for that round.
"""

import collections

import numpy as np
import tensorflow as tf
import tensorflow_federated as tff

FRACTION_BITS = 16
VALUE_BITS = 48
_WEIGHT_BITS = 32
_SCALE = float(2**FRACTION_BITS)
_MAX = float(2**VALUE_BITS - 1)


def _squared_norm(value) -> tf.Tensor:
  """Sum of squares of every tensor in a (possibly `tff.structure`) value."""
  if isinstance(value, tff.structure.Struct):
    leaves = [v for _, v in tff.structure.iter_elements(value)]
    return tf.add_n([_squared_norm(v) for v in leaves])
  return tf.add_n([tf.reduce_sum(tf.square(tf.cast(t, tf.float64)))
                   for t in tf.nest.flatten(value)])


class GradientDiversityFactory(tff.aggregators.WeightedAggregationFactory):
  """Adds `gradient_diversity` to another weighted aggregator's measurements.

  The wrapped aggregator's state, result and measurements are unchanged; the
  measurements gain `gradient_diversity` (float32, see module docstring) and
  `gradient_diversity_clipped` (clients whose term exceeded `VALUE_BITS`).
  """

  def __init__(self, inner: tff.aggregators.WeightedAggregationFactory):
    self._inner = inner

  def create(self, value_type, weight_type) -> tff.templates.AggregationProcess:
    inner = self._inner.create(value_type, weight_type)

    @tff.tensorflow.computation(value_type, weight_type)
    def client_terms(value, weight):
      n = tf.cast(weight, tf.float64)
      term = n * n * _squared_norm(value) * _SCALE
      return collections.OrderedDict(
          term=tf.cast(tf.round(tf.clip_by_value(term, 0.0, _MAX)), tf.int64),
          weight=tf.cast(tf.round(n), tf.int64),
          clipped=tf.cast(term > _MAX, tf.int64))

    @tff.tensorflow.computation(
        client_terms.type_signature.result, value_type)
    def ratio(sums, mean):
      total = tf.cast(sums['weight'], tf.float64)
      mean_sq = _squared_norm(mean)
      numerator = tf.cast(sums['term'], tf.float64) / _SCALE
      return tf.cast(tf.math.divide_no_nan(numerator, total * total * mean_sq),
                     tf.float32)

    @tff.federated_computation(
        inner.next.type_signature.parameter[0],
        tff.FederatedType(value_type, tff.CLIENTS),
        tff.FederatedType(weight_type, tff.CLIENTS))
    def next_fn(state, value, weight):
      output = inner.next(state, value, weight)
      terms = tff.federated_map(client_terms, (value, weight))
      sums = tff.federated_secure_sum_bitwidth(
          terms, collections.OrderedDict(
              term=VALUE_BITS, weight=_WEIGHT_BITS, clipped=1))
      diversity = tff.federated_map(ratio, (sums, output.result))
      fields = collections.OrderedDict(
          (name, output.measurements[name])
          for name, _ in tff.structure.iter_elements(
              output.measurements.type_signature.member))
      fields['gradient_diversity'] = diversity
      fields['gradient_diversity_clipped'] = sums.clipped
      return tff.templates.MeasuredProcessOutput(
          state=output.state, result=output.result,
          measurements=tff.federated_zip(fields))

    return tff.templates.AggregationProcess(inner.initialize, next_fn)


def reference(updates: list[np.ndarray], weights: list[float]) -> float:
  """Eq. 1 on weighted updates, directly (for tests and checks).

  Args:
    updates: Each client's update, flattened.
    weights: Each client's weight (example count).

  Returns:
    `sum_i ||n_i u_i||^2 / ||sum_i n_i u_i||^2`.
  """
  scaled = [n * np.asarray(u, np.float64) for u, n in zip(updates, weights)]
  return float(sum(np.sum(s * s) for s in scaled) /
               np.sum(np.square(np.sum(scaled, axis=0))))
