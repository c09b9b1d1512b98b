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
"""Tests for gptfl_tff.pretraining.pretrain."""

import io
import json
import os

import numpy as np
from PIL import Image
import tensorflow as tf

from gptfl_tff import audio
from gptfl_tff import models
from gptfl_tff.pretraining import pretrain
from gptfl_tff.synthesis import synthetic_records
from tests import fixtures


def _write_tones(folder, per_label=8):
  records = [
      synthetic_records.SyntheticRecord.from_audio(
          f'{d}-{k}', d, str(d), fixtures.tone(d, k % 2, k), 8000, {})
      for d in range(3) for k in range(per_label)
  ]
  synthetic_records.write_shard(
      os.path.join(folder, 'synthetic-00000-of-00001.tfrecord'), records)


def _small_model():
  return tf.keras.Sequential([
      tf.keras.layers.Input((94, 128)),
      tf.keras.layers.GlobalAveragePooling1D(),
      tf.keras.layers.Dense(3),
  ])


class PretrainTest(tf.test.TestCase):

  def test_loss_goes_down_and_model_is_saved(self):
    data = self.create_tempdir().full_path
    _write_tones(data)
    out = self.create_tempdir().full_path
    config = pretrain.PretrainConfig(epochs=6, batch_size=8,
                                     learning_rate=1e-2, weight_decay=0.01)
    # Steady tones are what band-mean normalisation removes (a channel's
    # colouring), so these toy words are told apart by whole-utterance
    # normalised features.
    frontend = audio.FrontEndConfig(
        normalization=audio.Normalization.UTTERANCE)
    history = pretrain.run(data, _small_model, config, out,
                           frontend=frontend)
    self.assertLen(history, 6)
    self.assertLess(history[-1]['train_loss'], 0.7 * history[0]['train_loss'])
    model = tf.keras.models.load_model(os.path.join(out, 'pretrained.keras'))
    self.assertEqual(model.output_shape, (None, 3))

  def test_killed_pretraining_resumes_to_the_uninterrupted_weights(self):
    data = self.create_tempdir().full_path
    _write_tones(data, per_label=4)
    frontend = audio.FrontEndConfig()
    waves, labels = pretrain.load_waveforms(data, frontend)
    config = pretrain.PretrainConfig(epochs=3, batch_size=4)
    trained = []

    def dataset_fn(epoch, kill_at=None):
      if epoch == kill_at:
        raise KeyboardInterrupt('simulated kill')
      trained.append(epoch)
      return pretrain.create_train_dataset(waves, labels, config, frontend,
                                           epoch)

    def model_fn():  # With the project's dropout, as its models have.
      return tf.keras.Sequential([
          tf.keras.layers.Input((94, 128)),
          models.DeterministicDropout(0.5, seed=1),
          tf.keras.layers.GlobalAveragePooling1D(),
          tf.keras.layers.Dense(3),
      ])

    steps = len(labels) // config.batch_size
    whole = self.create_tempdir().full_path
    pretrain.fit(dataset_fn, steps, model_fn, config, whole)
    killed = self.create_tempdir().full_path
    with self.assertRaises(KeyboardInterrupt):
      pretrain.fit(lambda e: dataset_fn(e, kill_at=2), steps, model_fn,
                   config, killed)
    trained.clear()
    history = pretrain.fit(dataset_fn, steps, model_fn, config, killed)
    self.assertEqual(trained, [2])  # Epochs 1-2 came from the checkpoint.
    self.assertEqual([h['epoch'] for h in history], [1, 2, 3])
    with open(os.path.join(killed, 'pretrain_metrics.json')) as f:
      self.assertLen(json.load(f), 3)
    got = tf.keras.models.load_model(
        os.path.join(killed, 'pretrained.keras')).get_weights()
    want = tf.keras.models.load_model(
        os.path.join(whole, 'pretrained.keras')).get_weights()
    for a, b in zip(got, want):
      self.assertLessEqual(np.max(np.abs(a - b)), 1e-6)

  def test_augmentation_is_seeded_and_bounded(self):
    config = pretrain.PretrainConfig(snr_db_range=(30.0, 30.0))
    x = tf.constant(np.stack([fixtures.tone(1, 0, 0)[:4000]] * 2))
    seed = tf.constant([1, 2], tf.int64)
    a = pretrain.augment(x, seed, config, 8000)
    self.assertAllClose(a, pretrain.augment(x, seed, config, 8000))
    self.assertNotAllClose(a, pretrain.augment(x, seed + 1, config, 8000))
    gain = np.sqrt(np.mean(a.numpy() ** 2) / np.mean(x.numpy() ** 2))
    self.assertBetween(gain, 10 ** (-6.1 / 20), 10 ** (6.1 / 20))

  def test_training_data_goes_through_the_front_end(self):
    data = self.create_tempdir().full_path
    _write_tones(data, per_label=2)
    frontend = audio.FrontEndConfig()
    waves, labels = pretrain.load_waveforms(data, frontend)
    self.assertEqual(waves.shape, (6, 16000))
    ds = pretrain.create_train_dataset(
        waves, labels, pretrain.PretrainConfig(batch_size=4), frontend, 0)
    x, y = next(iter(ds))
    self.assertEqual(x.shape, (4, 94, 128))
    self.assertEqual(y.dtype, tf.int32)

  def test_image_pretraining_loss_goes_down(self):
    data = self.create_tempdir().full_path
    rng = np.random.default_rng(0)
    records = []
    for k in range(24):
      label = k % 3
      image = np.zeros((16, 16, 3), np.uint8)
      image[..., label] = 200  # one colour per class
      image = np.clip(image + rng.integers(0, 40, image.shape), 0, 255)
      buf = io.BytesIO()
      Image.fromarray(image.astype(np.uint8)).save(buf, format='PNG')
      records.append(synthetic_records.SyntheticRecord(
          f'i{k}', label, str(label), synthetic_records.KIND_IMAGE,
          buf.getvalue(), 0, {}))
    synthetic_records.write_shard(
        os.path.join(data, 'synthetic-00000-of-00001.tfrecord'), records)
    out = self.create_tempdir().full_path
    config = pretrain.PretrainConfig(
        epochs=5, batch_size=8, learning_rate=0.05, weight_decay=5e-4,
        optimizer=pretrain.Optimizer.SGD)
    history = pretrain.run_images(
        data, 16, lambda: models.create_convnet((16, 16, 3), 3, width=8,
                                                depth=2, seed=0),
        config, out)
    self.assertLess(history[-1]['train_loss'], 0.7 * history[0]['train_loss'])
    self.assertTrue(os.path.exists(os.path.join(out, 'pretrained.keras')))

  def test_image_records_only(self):
    data = self.create_tempdir().full_path
    _write_tones(data, per_label=1)
    with self.assertRaisesRegex(synthetic_records.RecordError, 'not an image'):
      pretrain.load_images(data, 16)

  def test_bad_config(self):
    with self.assertRaisesRegex(ValueError, 'epochs >= 1'):
      pretrain.PretrainConfig(epochs=0)


if __name__ == '__main__':
  tf.test.main()
