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
"""Centralized pretraining on synthetic data (GPT-FL, Sec. 3.3).

The server trains the downstream model on the generated data alone. GPT-FL
notes that synthetic data overfits easily, so training uses a small learning
rate with a cosine schedule, large weight decay (AdamW, or SGD with
momentum), and augmentation redrawn every epoch:

  * audio: random gain, random time shift and additive noise at a random
    SNR, applied to the waveform before the shared log-mel front end;
  * images: keras-cv random resized crop, horizontal flip and RandAugment.

Checkpoints are written every epoch and training resumes from the last one.
The result is saved as a Keras model, which federated fine-tuning loads as
its initial weights; its accuracy on the real validation and test splits
(`evaluation`) is the "synthetic-only" (zero-shot) number.
"""

import dataclasses
import enum
import io
import json
import os
from typing import Callable, Optional

from absl import logging
import numpy as np
import tensorflow as tf

from gptfl_tff import audio
from gptfl_tff import io_utils
from gptfl_tff import models
from gptfl_tff.synthesis import synthetic_records


class Optimizer(enum.Enum):
  ADAMW = 'adamw'
  SGD = 'sgd'


@dataclasses.dataclass(frozen=True)
class PretrainConfig:
  """Pretraining hyper-parameters.

  Attributes:
    epochs: Passes over the synthetic data.
    batch_size: Batch size.
    learning_rate: Peak learning rate of the cosine schedule.
    weight_decay: Decoupled weight decay (AdamW, or SGDW for SGD).
    optimizer: AdamW or SGD with momentum.
    momentum: SGD momentum.
    augment: Redraw gain / shift / noise augmentation every epoch.
    max_gain_db: Gain drawn uniformly in [-max, +max] dB.
    max_shift_seconds: Circular time shift drawn in [-max, +max] seconds.
    snr_db_range: Additive white noise at an SNR drawn in this range.
    rand_augment_magnitude: Images: RandAugment magnitude in [0, 1].
    seed: Seed of initialisation, order and augmentation.
  """

  epochs: int = 10
  batch_size: int = 32
  learning_rate: float = 1e-3
  weight_decay: float = 0.05
  optimizer: Optimizer = Optimizer.ADAMW
  momentum: float = 0.9
  augment: bool = True
  max_gain_db: float = 6.0
  max_shift_seconds: float = 0.1
  snr_db_range: tuple[float, float] = (10.0, 40.0)
  rand_augment_magnitude: float = 0.3
  seed: int = 0

  def __post_init__(self):
    if self.epochs < 1 or self.batch_size < 1 or self.learning_rate <= 0:
      raise ValueError(
          'Need epochs >= 1, batch_size >= 1 and learning_rate > 0; got '
          f'{self.epochs}, {self.batch_size}, {self.learning_rate}.')


def load_waveforms(
    folder: str, frontend: audio.FrontEndConfig
) -> tuple[np.ndarray, np.ndarray]:
  """Synthetic audio records -> fixed-length waveforms at the front-end rate.

  Returns:
    `(waveforms [n, num_samples] float32, labels [n] int32)`.

  Raises:
    synthetic_records.RecordError: If the folder holds no audio shards.
  """
  waves, labels = [], []
  for record in synthetic_records.read_records(
      synthetic_records.list_shards(folder)):
    x = audio.resample(record.audio(), record.sample_rate, frontend.sample_rate)
    waves.append(audio.pad_or_trim(x, frontend.num_samples))
    labels.append(record.label)
  if not waves:
    raise synthetic_records.RecordError(f'No audio records in {folder!r}.')
  return np.stack(waves).astype(np.float32), np.array(labels, np.int32)


def augment(
    waves: tf.Tensor, seed: tf.Tensor, config: PretrainConfig,
    sample_rate: int,
) -> tf.Tensor:
  """Gain, circular shift and white noise, drawn per utterance from `seed`.

  The front end normalises every utterance's log-mel, which absorbs most of
  a pure gain change (it still moves quiet frames relative to the log
  offset); shift and noise change the features substantially.
  """
  n = tf.shape(waves)[0]
  seeds = tf.random.experimental.stateless_split(seed, 4)
  gain_db = tf.random.stateless_uniform(
      [n, 1], seeds[0], -config.max_gain_db, config.max_gain_db)
  waves = waves * tf.pow(10.0, gain_db / 20.0)
  max_shift = int(config.max_shift_seconds * sample_rate)
  shifts = tf.random.stateless_uniform(
      [n], seeds[1], -max_shift, max_shift + 1, dtype=tf.int32)
  waves = tf.map_fn(
      lambda args: tf.roll(args[0], args[1], axis=0), (waves, shifts),
      fn_output_signature=tf.float32)
  snr_db = tf.random.stateless_uniform(
      [n, 1], seeds[2], config.snr_db_range[0], config.snr_db_range[1])
  power = tf.reduce_mean(tf.square(waves), axis=1, keepdims=True) + 1e-10
  noise = tf.random.stateless_normal(tf.shape(waves), seeds[3])
  return waves + noise * tf.sqrt(power / tf.pow(10.0, snr_db / 10.0))


def create_train_dataset(
    waves: np.ndarray, labels: np.ndarray, config: PretrainConfig,
    frontend: audio.FrontEndConfig, epoch: int,
) -> tf.data.Dataset:
  """One epoch: seeded shuffle, augmentation redrawn per epoch, log-mel."""
  order = np.random.default_rng([config.seed, epoch]).permutation(len(labels))
  ds = tf.data.Dataset.from_tensor_slices(
      (waves[order], labels[order])).batch(config.batch_size)
  ds = ds.enumerate()

  def prepare(step, batch):
    x, y = batch
    if config.augment:
      seed = tf.stack([tf.constant(config.seed * 1000 + epoch, tf.int64), step])
      x = augment(x, seed, config, frontend.sample_rate)
    return audio.log_mel(x, frontend), y

  return ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)


def _optimizer(config: PretrainConfig, steps: int):
  schedule = tf.keras.optimizers.schedules.CosineDecay(
      config.learning_rate, steps)
  if config.optimizer == Optimizer.ADAMW:
    return tf.keras.optimizers.AdamW(
        learning_rate=schedule, weight_decay=config.weight_decay)
  return tf.keras.optimizers.SGD(
      learning_rate=schedule, momentum=config.momentum,
      weight_decay=config.weight_decay)


def fit(
    dataset_fn: Callable[[int], tf.data.Dataset],
    steps_per_epoch: int,
    keras_model_fn: Callable[[], tf.keras.Model],
    config: PretrainConfig,
    output_dir: str,
    progress: bool = False,
) -> list[dict[str, float]]:
  """The shared training loop: checkpoints every epoch, resumes, saves.

  Writes `checkpoints/`, `pretrain_metrics.json` and `pretrained.keras`
  under `output_dir`. A run killed at any point and rerun ends with the same
  weights as an uninterrupted one (tested for audio): weights, optimizer
  state and the epoch counter are restored from the last checkpoint, the
  data order and audio augmentation of an epoch are functions of (seed,
  epoch), and the project's models drop out with
  `models.DeterministicDropout` (a function of the batch). Keras' own
  stateful random layers (its Dropout, keras-cv's image augmentation) draw
  from process state, so with them a resumed run is equivalent but not
  identical.

  Args:
    dataset_fn: `epoch -> dataset` of `(inputs, labels)` batches.
    steps_per_epoch: Batches per epoch (for the cosine schedule).
    keras_model_fn: Builds the (uncompiled, logits) model.
    config: Hyper-parameters.
    output_dir: Where checkpoints, metrics and the model go.
    progress: Show a progress bar over epochs.

  Returns:
    Per-epoch metrics.
  """
  from gptfl_tff import console  # pylint: disable=g-import-not-at-top
  tf.keras.utils.set_random_seed(config.seed)
  model = keras_model_fn()
  optimizer = _optimizer(config, config.epochs * steps_per_epoch)
  loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
  epoch_var = tf.Variable(0, dtype=tf.int64)
  checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer,
                                   epoch=epoch_var)
  manager = tf.train.CheckpointManager(
      checkpoint, os.path.join(output_dir, 'checkpoints'), max_to_keep=2)
  if manager.latest_checkpoint:
    checkpoint.restore(manager.latest_checkpoint)
    logging.info('Resuming pretraining after epoch %d', int(epoch_var))

  @tf.function
  def train_step(x, y):
    with tf.GradientTape() as tape:
      loss = loss_fn(y, model(x, training=True))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return loss

  metrics_path = os.path.join(output_dir, 'pretrain_metrics.json')
  history = []
  if os.path.exists(metrics_path) and int(epoch_var) > 0:
    with open(metrics_path) as f:
      history = json.load(f)[:int(epoch_var)]
  first = int(epoch_var)
  with console.progress(config.epochs, 'pretrain', 'epoch', initial=first,
                        enabled=progress) as bar:
    for epoch in range(first, config.epochs):
      losses = [float(train_step(x, y)) for x, y in dataset_fn(epoch)]
      row = {'epoch': epoch + 1, 'train_loss': float(np.mean(losses))}
      history.append(row)
      epoch_var.assign(epoch + 1)
      manager.save()
      io_utils.atomic_write_json(metrics_path, history)
      bar.update(1, loss=row['train_loss'])
      logging.info('pretrain epoch %d: %s', epoch + 1, row)
  models.save_model(model, os.path.join(output_dir, 'pretrained.keras'))
  return history


def run(
    synthetic_dir: str,
    keras_model_fn: Callable[[], tf.keras.Model],
    config: PretrainConfig,
    output_dir: str,
    frontend: audio.FrontEndConfig = audio.FrontEndConfig(),
    progress: bool = False,
) -> list[dict[str, float]]:
  """Pretrains an audio model on the synthetic records in `synthetic_dir`.

  Args:
    synthetic_dir: Folder of synthetic audio shards.
    keras_model_fn: Builds the (uncompiled, logits) model.
    config: Hyper-parameters.
    output_dir: Where checkpoints, metrics and the model go (see `fit`).
    frontend: The audio front end.
    progress: Show a progress bar over epochs.

  Returns:
    Per-epoch metrics.
  """
  waves, labels = load_waveforms(synthetic_dir, frontend)
  return fit(
      lambda epoch: create_train_dataset(waves, labels, config, frontend,
                                         epoch),
      int(np.ceil(len(labels) / config.batch_size)), keras_model_fn, config,
      output_dir, progress)


def load_images(folder: str, image_size: int) -> tuple[np.ndarray, np.ndarray]:
  """Synthetic image records -> uint8 `[n, size, size, 3]` and labels.

  Raises:
    synthetic_records.RecordError: If the folder holds no image records.
  """
  from PIL import Image  # pylint: disable=g-import-not-at-top
  images, labels = [], []
  for record in synthetic_records.read_records(
      synthetic_records.list_shards(folder)):
    if record.kind != synthetic_records.KIND_IMAGE:
      raise synthetic_records.RecordError(
          f'Record {record.id} in {folder!r} is {record.kind}, not an image.')
    with Image.open(io.BytesIO(record.data)) as im:
      im = im.convert('RGB')
      if im.size != (image_size, image_size):
        im = im.resize((image_size, image_size), Image.BICUBIC)
      images.append(np.asarray(im, np.uint8))
    labels.append(record.label)
  if not images:
    raise synthetic_records.RecordError(f'No image records in {folder!r}.')
  return np.stack(images), np.array(labels, np.int32)


def create_image_augmenter(image_size: int,
                           config: PretrainConfig) -> tf.keras.Model:
  """keras-cv random resized crop, horizontal flip and RandAugment."""
  import keras_cv  # pylint: disable=g-import-not-at-top
  return tf.keras.Sequential([
      keras_cv.layers.RandomCropAndResize(
          (image_size, image_size), crop_area_factor=(0.5, 1.0),
          aspect_ratio_factor=(3 / 4, 4 / 3), seed=config.seed),
      keras_cv.layers.RandomFlip('horizontal', seed=config.seed + 1),
      keras_cv.layers.RandAugment(
          value_range=(0, 255), augmentations_per_image=2,
          magnitude=config.rand_augment_magnitude, seed=config.seed + 2),
  ])


def run_images(
    synthetic_dir: str,
    image_size: int,
    keras_model_fn: Callable[[], tf.keras.Model],
    config: PretrainConfig,
    output_dir: str,
    progress: bool = False,
) -> list[dict[str, float]]:
  """Pretrains an image model on synthetic image records (see `fit`)."""
  images, labels = load_images(synthetic_dir, image_size)
  augmenter = None
  if config.augment:
    augmenter = create_image_augmenter(image_size, config)

  def dataset_fn(epoch):
    order = np.random.default_rng([config.seed, epoch]).permutation(
        len(labels))
    ds = tf.data.Dataset.from_tensor_slices(
        (images[order], labels[order])).batch(config.batch_size)
    if augmenter is not None:
      ds = ds.map(lambda x, y: (augmenter(tf.cast(x, tf.float32),
                                          training=True), y))
    return ds.map(lambda x, y: (models.image_model_input(x), y)).prefetch(2)

  return fit(dataset_fn, int(np.ceil(len(labels) / config.batch_size)),
             keras_model_fn, config, output_dir, progress)
