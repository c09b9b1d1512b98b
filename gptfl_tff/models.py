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
"""Downstream Keras models (GPT-FL, Sec. 4.1). All output logits.

* `create_keyword_model`: the FedAudio keyword-spotting model GPT-FL uses
  for audio (FedAudio, Zhang et al. 2022): Conv1D(64, 3) ReLU MaxPool(2),
  Conv1D(128, 3) ReLU MaxPool(2) Dropout(0.1), bidirectional GRU(128), mean
  over time, Dense(128) ReLU, Dense(classes). Its dropout is
  `DeterministicDropout`, so runs are reproducible. Input: log-mel
  `[frames, mel_bins]`.
* `create_convnet`: the ConvNet of DynaFed / GPT-FL's image experiments:
  depth x [Conv 3x3 (width), instance norm, ReLU, AvgPool 2], linear head.
* `create_vgg19`, `create_resnet18`, `create_resnet50`: the paper's larger
  image models.

Normalisation. The paper's VGG19/ResNets use BatchNorm. BatchNorm keeps
running statistics that FedAvg would average as if they were weights, they
are not trained by gradients, and TFF's functional models reject the
layer; so these builders use GroupNorm (32 groups, or fewer when a layer has
fewer channels) in every BatchNorm position, as in Hsieh et al. 2020 ("The
Non-IID Data Quagmire"), which showed GroupNorm recovers most of
BatchNorm's accuracy under non-IID FL. The ConvNet uses instance norm, as
in the paper (GroupNorm with one group per channel).
"""

import os
import tempfile

import numpy as np
import tensorflow as tf

from gptfl_tff import errors


@tf.keras.utils.register_keras_serializable(package='gptfl_tff')
class DeterministicDropout(tf.keras.layers.Layer):
  """Dropout whose mask is a function of the batch and the layer's seed.

  Keras' dropout draws from stateful random ops, whose state lives in the
  process (and, in TFF, in the worker's kernels): two runs with the same
  seed, or a resumed run, train with other masks. Here the mask is drawn
  with a stateless op seeded by (a digest of the batch's bits, seed); the
  batches are themselves functions of (seed, round, client), so federated
  training is reproducible and a resumed run equals an uninterrupted one.

  Called on `[activations, key]`, the digest is taken from `key`, normally
  the model's input: its bits are data, exact everywhere, whereas the
  activations' last bits move with the kernels' order of summation (a TFF
  dataset-reduce loop and an iterator loop differ there), and a digest of
  them would draw a different mask for every such difference. Called on one
  tensor, the digest is taken from that tensor.
  """

  def __init__(self, rate: float, seed: int = 0, **kwargs):
    super().__init__(**kwargs)
    if not 0 <= rate < 1:
      raise ValueError(f'Dropout rate must be in [0, 1), got {rate}.')
    self.rate = rate
    self.seed = seed

  def call(self, inputs, training=None):
    if isinstance(inputs, (list, tuple)):
      inputs, key = inputs
    else:
      key = inputs
    if not training or self.rate == 0:
      return inputs
    bits = tf.bitcast(tf.cast(key, tf.float32), tf.int32)
    digest = tf.reduce_sum(tf.cast(bits, tf.int64))
    keep = tf.random.stateless_uniform(
        tf.shape(inputs), tf.stack([digest, tf.constant(self.seed, tf.int64)])
    ) >= self.rate
    return tf.where(keep, inputs / (1.0 - self.rate), tf.zeros_like(inputs))

  def get_config(self):
    return dict(super().get_config(), rate=self.rate, seed=self.seed)


def create_keyword_model(
    input_shape: tuple[int, int], num_classes: int, seed: int | None = None
) -> tf.keras.Model:
  """Creates the FedAudio keyword model (outputs logits).

  Args:
    input_shape: `(frames, mel_bins)`.
    num_classes: Number of output classes.
    seed: If set, initial weights are a function of it.

  Returns:
    An uncompiled `tf.keras.Model`.
  """
  def init(k):
    return tf.keras.initializers.GlorotUniform(
        seed=None if seed is None else seed + k)
  layers = tf.keras.layers
  inputs = tf.keras.Input(shape=input_shape, name='features')
  x = layers.Conv1D(64, 3, activation='relu', kernel_initializer=init(0))(
      inputs
  )
  x = layers.MaxPool1D(2)(x)
  x = layers.Conv1D(128, 3, activation='relu', kernel_initializer=init(1))(x)
  x = layers.MaxPool1D(2)(x)
  x = DeterministicDropout(0.1, seed=seed or 0)([x, inputs])
  x = layers.Bidirectional(
      layers.GRU(
          128,
          return_sequences=True,
          kernel_initializer=init(2),
          recurrent_initializer=tf.keras.initializers.Orthogonal(
              seed=None if seed is None else seed + 3
          ),
      )
  )(x)
  x = layers.GlobalAveragePooling1D()(x)
  x = layers.Dense(128, activation='relu', kernel_initializer=init(4))(x)
  outputs = layers.Dense(num_classes, kernel_initializer=init(5))(x)
  return tf.keras.Model(inputs, outputs, name='fedaudio_keyword')


def image_model_input(images):
  """uint8 (or 0-255 float) images -> float32 model input in [-1, 1].

  The one image convention of the project: pretraining, federated client
  data and evaluation all go through it.
  """
  return tf.cast(images, tf.float32) / 127.5 - 1.0


def count_params(weights) -> int:
  """Number of scalars in a list of weight arrays or variables."""
  return int(sum(np.size(w) for w in weights))


def save_model(model: tf.keras.Model, path: str) -> None:
  """Saves a Keras model atomically: to a temporary name, then renamed.

  Args:
    model: The model.
    path: Destination ending in `.keras` (Keras requires the suffix).
  """
  folder = os.path.dirname(os.path.abspath(path))
  os.makedirs(folder, exist_ok=True)
  with tempfile.TemporaryDirectory(dir=folder, prefix='.save-') as tmp:
    tmp_path = os.path.join(tmp, os.path.basename(path))
    model.save(tmp_path)
    os.replace(tmp_path, path)


def _norm(channels: int, groups: int = 32) -> tf.keras.layers.Layer:
  return tf.keras.layers.GroupNormalization(min(groups, channels))


def create_convnet(
    input_shape: tuple[int, int, int], num_classes: int, width: int = 128,
    depth: int = 3, seed: int | None = None,
) -> tf.keras.Model:
  """The DynaFed / GPT-FL ConvNet (instance norm, avg-pool, linear head).

  Args:
    input_shape: `(height, width, channels)`.
    num_classes: Output classes.
    width: Channels of every conv layer.
    depth: Conv blocks; each halves the resolution.
    seed: If set, initial weights are a function of it.

  Returns:
    An uncompiled `tf.keras.Model`.
  """
  def init(k):
    return tf.keras.initializers.HeNormal(
        seed=None if seed is None else seed + k)
  inputs = tf.keras.Input(input_shape, name='images')
  x = inputs
  for k in range(depth):
    x = tf.keras.layers.Conv2D(width, 3, padding='same',
                               kernel_initializer=init(k))(x)
    x = tf.keras.layers.GroupNormalization(groups=width)(x)  # instance norm
    x = tf.keras.layers.ReLU()(x)
    x = tf.keras.layers.AveragePooling2D(2)(x)
  x = tf.keras.layers.Flatten()(x)
  outputs = tf.keras.layers.Dense(
      num_classes, kernel_initializer=init(depth))(x)
  return tf.keras.Model(inputs, outputs, name=f'convnet_w{width}_d{depth}')


_VGG19 = (64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M',
          512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M')


def create_vgg19(
    input_shape: tuple[int, int, int], num_classes: int,
    seed: int | None = None,
) -> tf.keras.Model:
  """VGG19 with GroupNorm after every conv (see module docstring)."""
  inputs = tf.keras.Input(input_shape, name='images')
  x = inputs
  k = 0
  for v in _VGG19:
    if v == 'M':
      x = tf.keras.layers.MaxPool2D(2)(x)
      continue
    x = tf.keras.layers.Conv2D(
        v, 3, padding='same', use_bias=False,
        kernel_initializer=tf.keras.initializers.HeNormal(
            None if seed is None else seed + k))(x)
    x = tf.keras.layers.ReLU()(_norm(v)(x))
    k += 1
  x = tf.keras.layers.GlobalAveragePooling2D()(x)
  outputs = tf.keras.layers.Dense(num_classes)(x)
  return tf.keras.Model(inputs, outputs, name='vgg19_gn')


def _basic_block(x, filters, stride):
  shortcut = x
  y = tf.keras.layers.Conv2D(filters, 3, stride, 'same', use_bias=False)(x)
  y = tf.keras.layers.ReLU()(_norm(filters)(y))
  y = tf.keras.layers.Conv2D(filters, 3, 1, 'same', use_bias=False)(y)
  y = _norm(filters)(y)
  if stride != 1 or x.shape[-1] != filters:
    shortcut = tf.keras.layers.Conv2D(filters, 1, stride, use_bias=False)(x)
    shortcut = _norm(filters)(shortcut)
  return tf.keras.layers.ReLU()(y + shortcut)


def _bottleneck(x, filters, stride):
  shortcut = x
  y = tf.keras.layers.Conv2D(filters, 1, use_bias=False)(x)
  y = tf.keras.layers.ReLU()(_norm(filters)(y))
  y = tf.keras.layers.Conv2D(filters, 3, stride, 'same', use_bias=False)(y)
  y = tf.keras.layers.ReLU()(_norm(filters)(y))
  y = tf.keras.layers.Conv2D(4 * filters, 1, use_bias=False)(y)
  y = _norm(4 * filters)(y)
  if stride != 1 or x.shape[-1] != 4 * filters:
    shortcut = tf.keras.layers.Conv2D(4 * filters, 1, stride,
                                      use_bias=False)(x)
    shortcut = _norm(4 * filters)(shortcut)
  return tf.keras.layers.ReLU()(y + shortcut)


def _resnet(input_shape, num_classes, block, layers, name, seed):
  if seed is not None:
    tf.keras.utils.set_random_seed(seed)
  inputs = tf.keras.Input(input_shape, name='images')
  small = input_shape[0] <= 64
  if small:  # CIFAR stem: 3x3 conv, no max-pool.
    x = tf.keras.layers.Conv2D(64, 3, 1, 'same', use_bias=False)(inputs)
  else:      # ImageNet stem: 7x7/2 conv and 3x3/2 max-pool.
    x = tf.keras.layers.Conv2D(64, 7, 2, 'same', use_bias=False)(inputs)
  x = tf.keras.layers.ReLU()(_norm(64)(x))
  if not small:
    x = tf.keras.layers.MaxPool2D(3, 2, 'same')(x)
  for stage, blocks in enumerate(layers):
    for b in range(blocks):
      x = block(x, 64 * 2**stage, 2 if (b == 0 and stage > 0) else 1)
  x = tf.keras.layers.GlobalAveragePooling2D()(x)
  outputs = tf.keras.layers.Dense(num_classes)(x)
  return tf.keras.Model(inputs, outputs, name=name)


def create_resnet18(
    input_shape: tuple[int, int, int], num_classes: int,
    seed: int | None = None,
) -> tf.keras.Model:
  """ResNet18 with GroupNorm; CIFAR stem for inputs <= 64 px."""
  return _resnet(input_shape, num_classes, _basic_block, (2, 2, 2, 2),
                 'resnet18_gn', seed)


def create_resnet50(
    input_shape: tuple[int, int, int], num_classes: int,
    seed: int | None = None,
) -> tf.keras.Model:
  """ResNet50 with GroupNorm; CIFAR stem for inputs <= 64 px."""
  return _resnet(input_shape, num_classes, _bottleneck, (3, 4, 6, 3),
                 'resnet50_gn', seed)


IMAGE_MODELS = {
    'convnet': create_convnet,
    'vgg19': create_vgg19,
    'resnet18': create_resnet18,
    'resnet50': create_resnet50,
}


class ModelFileError(errors.UserError, FileNotFoundError):
  """A model file that is missing or unreadable; says what to pass."""


def check_initial_model(path: str) -> None:
  """Raises `ModelFileError` unless `path` is a saved `.keras` model file."""
  if not os.path.isfile(path):
    raise ModelFileError(
        f'No saved model at {path!r}; pass a .keras file written by '
        'pretraining or federated training (for random init, leave '
        '--initial_model unset).')


def load_initial_model(path: str) -> tf.keras.Model:
  """Loads a saved Keras model to start federated training from.

  Raises:
    ModelFileError: If nothing readable is saved at `path`.
  """
  check_initial_model(path)
  try:
    return tf.keras.models.load_model(path, compile=False)
  except Exception as e:  # pylint: disable=broad-except
    raise ModelFileError(
        f'{path} is not a readable Keras model ({type(e).__name__}); pass '
        'the .keras file the pretraining stage wrote.') from e
