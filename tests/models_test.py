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
"""Tests for gptfl_tff.models."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from gptfl_tff import models
from gptfl_tff import runtime
from gptfl_tff.finetuning import federated


class ModelsTest(tf.test.TestCase, parameterized.TestCase):

  def test_keyword_model_architecture(self):
    model = models.create_keyword_model((94, 128), 10)
    self.assertEqual(model.output_shape, (None, 10))
    # Conv1D(64,3) 24,640 + Conv1D(128,3) 24,704 + BiGRU(128) 198,144
    # + Dense(128) 32,896 + Dense(10) 1,290.
    self.assertEqual(model.count_params(), 281_674)
    kinds = [type(l).__name__ for l in model.layers]
    self.assertEqual(kinds, [
        'InputLayer', 'Conv1D', 'MaxPooling1D', 'Conv1D', 'MaxPooling1D',
        'DeterministicDropout', 'Bidirectional', 'GlobalAveragePooling1D',
        'Dense',
        'Dense',
    ])

  def test_seed_fixes_initial_weights(self):
    a = models.create_keyword_model((20, 8), 3, seed=1).get_weights()
    b = models.create_keyword_model((20, 8), 3, seed=1).get_weights()
    c = models.create_keyword_model((20, 8), 3, seed=2).get_weights()
    for x, y in zip(a, b):
      self.assertAllEqual(x, y)
    self.assertFalse(np.array_equal(a[0], c[0]))


  def test_deterministic_dropout_is_a_function_of_the_batch(self):
    layer = models.DeterministicDropout(0.5, seed=3)
    x = tf.constant(np.arange(1, 401, dtype=np.float32).reshape(4, 100))
    a = layer(x, training=True).numpy()
    self.assertAllEqual(a, layer(x, training=True).numpy())
    self.assertAllEqual(layer(x, training=False), x)
    dropped = a == 0
    self.assertBetween(dropped.mean(), 0.35, 0.65)
    self.assertAllClose(a[~dropped], 2 * x.numpy()[~dropped])
    other = layer(x + 1, training=True).numpy() == 0
    self.assertFalse(np.array_equal(dropped, other))
    with self.assertRaisesRegex(ValueError, r'\[0, 1\)'):
      models.DeterministicDropout(1.0)

  def test_count_params(self):
    model = models.create_keyword_model((94, 128), 10, seed=0)
    self.assertEqual(models.count_params(model.trainable_weights), 281_674)
    self.assertEqual(models.count_params([np.zeros((2, 3)), np.zeros(4)]),
                     10)

  def test_deterministic_dropout_mask_follows_the_key_only(self):
    # The mask must not move with the activations' last bits (which differ
    # between TFF's client-loop forms), only with the data (the key).
    layer = models.DeterministicDropout(0.5, seed=3)
    x = tf.constant(np.linspace(1, 2, 400, dtype=np.float32).reshape(4, 100))
    key = tf.constant(np.arange(12, dtype=np.float32).reshape(4, 3))
    mask = layer([x, key], training=True).numpy() == 0
    nudged = layer([x * (1 + 1e-7), key], training=True).numpy() == 0
    self.assertAllEqual(mask, nudged)
    other = layer([x, key + 1], training=True).numpy() == 0
    self.assertFalse(np.array_equal(mask, other))
    self.assertAllEqual(layer([x, key], training=False), x)

  def test_saved_model_with_deterministic_dropout_loads(self):
    model = models.create_keyword_model((20, 8), 3, seed=1)
    path = self.create_tempdir().full_path + '/m.keras'
    models.save_model(model, path)
    loaded = models.load_initial_model(path)
    self.assertEqual(type(loaded.layers[5]).__name__, 'DeterministicDropout')
    for x, y in zip(model.get_weights(), loaded.get_weights()):
      self.assertAllEqual(x, y)

  @parameterized.named_parameters(
      ('convnet_cifar', 'convnet', 32, 10, 320_010),
      ('convnet_flowers', 'convnet', 64, 102, 298_752 + 768 + 8192 * 102 + 102),
      ('vgg19_cifar', 'vgg19', 32, 100, None),
      ('resnet18_cifar', 'resnet18', 32, 10, None),
      ('resnet50_flowers', 'resnet50', 64, 102, None),
  )
  def test_image_models_build(self, name, size, classes, params):
    model = models.IMAGE_MODELS[name]((size, size, 3), classes, seed=0)
    self.assertEqual(model.output_shape, (None, classes))
    if params:
      self.assertEqual(model.count_params(), params)
    kinds = {type(l).__name__ for l in model.submodules}
    self.assertNotIn('BatchNormalization', kinds)
    out = model(np.zeros((2, size, size, 3), np.float32))
    self.assertEqual(out.shape, (2, classes))

  # One TFF round of the ConvNet and of a GroupNorm ResNet: VGG19 and
  # ResNet50 are built from the same layer types (test_image_models_build).
  @parameterized.parameters('convnet', 'resnet18')
  def test_image_model_trains_one_tff_round(self, name):
    runtime.set_default_context(runtime.ContextKind.TEST)
    shape = (32, 32, 3)
    keras_fn = lambda: models.IMAGE_MODELS[name](shape, 10, seed=0)
    process = federated.build_learning_process(
        federated.create_tff_model_fn(keras_fn, shape),
        federated.ProcessConfig(client_learning_rate=0.01))
    state = process.initialize()
    rng = np.random.default_rng(0)
    data = [tf.data.Dataset.from_tensor_slices((
        rng.normal(size=(4,) + shape).astype(np.float32),
        rng.integers(0, 10, 4).astype(np.int32))).batch(2)
            for _ in range(2)]
    out = process.next(state, data)
    train = out.metrics['client_work']['train']
    self.assertEqual(train['num_examples'], 8)
    self.assertTrue(np.isfinite(train['loss']))
    before = process.get_model_weights(state).trainable
    after = process.get_model_weights(out.state).trainable
    self.assertFalse(all(np.allclose(a, b) for a, b in zip(before, after)))


if __name__ == '__main__':
  tf.test.main()
