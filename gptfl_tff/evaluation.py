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
"""The one evaluator: loss and accuracy of a logits model on a held-out set.

Evaluation is centralised on the server's validation and test splits, as in
GPT-FL's and FedAudio's reported numbers. Federated rounds, pretraining
("synthetic-only" accuracy), the chain's results and `evaluate_main` all go
through `evaluate`, so a number means the same everywhere. Metric names are
`{split}_loss` and `{split}_accuracy` (splits 'val' and 'test').
"""

from typing import Callable, Mapping

import numpy as np
import tensorflow as tf
import tensorflow_federated as tff

_BATCH = 256


class Evaluator:
  """Evaluates one Keras model on fixed arrays, traced once."""

  def __init__(self, model: tf.keras.Model,
               splits: Mapping[str, tuple[np.ndarray, np.ndarray]]):
    """Initialises the evaluator.

    Args:
      model: A logits model; its weights are read at each call.
      splits: `name -> (float32 model input, int labels)`.
    """
    self.model = model
    self._splits = {
        name: (tf.data.Dataset.from_tensor_slices(
            (x, np.asarray(y, np.int32))).batch(_BATCH), len(y))
        for name, (x, y) in splits.items()}
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(
        from_logits=True, reduction='sum')

    @tf.function
    def run(dataset):
      total = tf.constant(0.0)
      correct = tf.constant(0, tf.int64)
      for x, y in dataset:
        logits = model(x, training=False)
        total += loss_fn(y, logits)
        correct += tf.reduce_sum(tf.cast(
            tf.equal(tf.argmax(logits, -1, tf.int32), y), tf.int64))
      return total, correct

    self._run = run

  def __call__(self) -> dict[str, float]:
    """`{split}_loss` and `{split}_accuracy` of the model's current weights."""
    out = {}
    for name, (dataset, n) in self._splits.items():
      total, correct = self._run(dataset)
      out[f'{name}_loss'] = float(total) / max(n, 1)
      out[f'{name}_accuracy'] = float(correct) / max(n, 1)
    return out


def evaluate(model: tf.keras.Model,
             splits: Mapping[str, tuple[np.ndarray, np.ndarray]]
             ) -> dict[str, float]:
  """Loss and accuracy of `model` on each split (see `Evaluator`)."""
  return Evaluator(model, splits)()


def create_weights_evaluator(
    keras_model_fn: Callable[[], tf.keras.Model],
    splits: Mapping[str, tuple[np.ndarray, np.ndarray]],
) -> Callable[[tff.learning.models.ModelWeights], dict[str, float]]:
  """Returns `ModelWeights -> metrics` for federated rounds."""
  evaluator = Evaluator(keras_model_fn(), splits)

  def evaluate_weights(weights):
    weights.assign_weights_to(evaluator.model)
    return evaluator()

  return evaluate_weights
