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
"""Downstream Keras models.

`create_keyword_model` is the FedAudio keyword-spotting model that GPT-FL
uses for its audio tasks (GPT-FL, Sec. 4.1; FedAudio, Zhang et al. 2022):
Conv1D(64, 3) ReLU MaxPool(2), Conv1D(128, 3) ReLU MaxPool(2) Dropout(0.1),
bidirectional GRU(128), mean over time, Dense(128) ReLU, Dense(classes).
It maps log-mel features `[frames, mel_bins]` to logits.
"""

import os
import tempfile

import tensorflow as tf


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
  init = lambda k: tf.keras.initializers.GlorotUniform(  # pylint: disable=g-long-lambda
      seed=None if seed is None else seed + k
  )
  layers = tf.keras.layers
  inputs = tf.keras.Input(shape=input_shape, name='features')
  x = layers.Conv1D(64, 3, activation='relu', kernel_initializer=init(0))(
      inputs
  )
  x = layers.MaxPool1D(2)(x)
  x = layers.Conv1D(128, 3, activation='relu', kernel_initializer=init(1))(x)
  x = layers.MaxPool1D(2)(x)
  x = layers.Dropout(0.1, seed=seed)(x)
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
