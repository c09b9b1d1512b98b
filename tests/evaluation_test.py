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
"""Tests for gptfl_tff.evaluation against a direct numpy computation."""

import numpy as np
import tensorflow as tf
import tensorflow_federated as tff

from gptfl_tff import evaluation


def _model(seed=0):
  tf.keras.utils.set_random_seed(seed)
  return tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(3)])


def _direct(model, x, y):
  logits = model(x).numpy().astype(np.float64)
  logits -= logits.max(-1, keepdims=True)
  log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
  return (float(-log_probs[np.arange(len(y)), y].mean()),
          float((logits.argmax(-1) == y).mean()))


class EvaluationTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    rng = np.random.default_rng(0)
    # 600 examples: more than one evaluation batch of 256.
    self.x = rng.standard_normal((600, 4)).astype(np.float32)
    self.y = rng.integers(0, 3, 600).astype(np.int32)

  def test_matches_direct_computation_on_each_split(self):
    model = _model()
    scores = evaluation.evaluate(
        model, {'val': (self.x, self.y), 'test': (self.x[:7], self.y[:7])})
    for split, (x, y) in (('val', (self.x, self.y)),
                          ('test', (self.x[:7], self.y[:7]))):
      loss, acc = _direct(model, x, y)
      self.assertAllClose(scores[f'{split}_loss'], loss, rtol=1e-5)
      self.assertEqual(scores[f'{split}_accuracy'], acc)

  def test_weights_evaluator_reads_the_given_weights(self):
    evaluate = evaluation.create_weights_evaluator(
        _model, {'val': (self.x, self.y)})
    other = _model(seed=5)
    scores = evaluate(tff.learning.models.ModelWeights.from_model(other))
    loss, acc = _direct(other, self.x, self.y)
    self.assertAllClose(scores['val_loss'], loss, rtol=1e-5)
    self.assertEqual(scores['val_accuracy'], acc)


if __name__ == '__main__':
  tf.test.main()
