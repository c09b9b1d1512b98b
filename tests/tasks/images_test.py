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
"""Tests for gptfl_tff.tasks.images on tiny fixtures in each format."""

import io
import os
import zipfile

import numpy as np
from PIL import Image
import tensorflow as tf

from gptfl_tff.tasks import base
from gptfl_tff.tasks import images

_CLASSES = ('airplane', 'cat', 'ship')


def _jpeg(colour):
  buf = io.BytesIO()
  Image.fromarray(np.full((32, 32, 3), colour, np.uint8)).save(
      buf, format='JPEG', quality=95)
  return buf.getvalue()


def _write_folder(root, per_class=4, prefix='cifar10'):
  for c, name in enumerate(_CLASSES):
    folder = os.path.join(root, prefix, 'train', name)
    os.makedirs(folder, exist_ok=True)
    for k in range(per_class):
      with open(os.path.join(folder, f'{k:04d}.jpg'), 'wb') as f:
        f.write(_jpeg((80 * c, 10 * k, 200)))
  return root


class ImagesTest(tf.test.TestCase):

  def test_task_carves_validation_and_reads_a_test_folder(self):
    root = _write_folder(self.create_tempdir().full_path, per_class=10)
    task = images.CIFAR10_TASK
    splits = task.load(base.DataConfig(data_dir=root))
    self.assertLen(splits.validation, 3)  # 10% of each class
    self.assertLen(splits.train, 27)
    self.assertIsNone(splits.test)  # no test/ folder
    self.assertEqual(splits.train.features.dtype, np.uint8)
    self.assertEqual(sorted(set(splits.train.labels.tolist())),
                     [task.label_id(c) for c in _CLASSES])
    for c, name in enumerate(_CLASSES[:2]):
      folder = os.path.join(root, 'cifar10', 'test', name)
      os.makedirs(folder)
      with open(os.path.join(folder, '0.jpg'), 'wb') as f:
        f.write(_jpeg((80 * c, 0, 200)))
    splits = task.load(base.DataConfig(data_dir=root))
    self.assertEqual(splits.test.labels.tolist(), [0, 3])
    x = task.model_input(splits.test.features)
    self.assertEqual(x.dtype, np.float32)
    self.assertBetween(float(x.min()), -1.0, 1.0)
    with self.assertRaisesRegex(images.ImageDataError, 'no speakers'):
      task.load(base.DataConfig(data_dir=root, test_speakers=('amy',)))

  def test_folder_and_zip_read_the_same(self):
    root = _write_folder(self.create_tempdir().full_path)
    zip_path = os.path.join(self.create_tempdir().full_path, 'c.zip')
    with zipfile.ZipFile(zip_path, 'w') as z:
      for dirpath, _, files in os.walk(root):
        for f in files:
          full = os.path.join(dirpath, f)
          z.write(full, os.path.relpath(full, root))
    a = images.load_image_folder(root, 'train', 32)
    b = images.load_image_folder(zip_path, 'train', 32)
    self.assertEqual(a.class_names, _CLASSES)
    self.assertEqual(a.images.shape, (12, 32, 32, 3))
    self.assertAllEqual(a.labels, [0] * 4 + [1] * 4 + [2] * 4)
    self.assertAllEqual(a.images, b.images)
    self.assertAllEqual(a.labels, b.labels)
    self.assertAllClose(a.images[4].mean(axis=(0, 1)), [80, 0, 200], atol=3)

  def test_resize_and_max_per_class(self):
    root = _write_folder(self.create_tempdir().full_path)
    small = images.load_image_folder(root, 'train', 16, max_per_class=2)
    self.assertEqual(small.images.shape, (6, 16, 16, 3))

  def test_validation_split_is_per_class_and_seeded(self):
    root = _write_folder(self.create_tempdir().full_path, per_class=10)
    data = images.load_image_folder(root, 'train', 32)
    train, val = images.split_validation(data, 0.2, seed=1)
    self.assertEqual(np.bincount(val.labels).tolist(), [2, 2, 2])
    self.assertLen(train, 24)
    _, again = images.split_validation(data, 0.2, seed=1)
    self.assertAllEqual(val.images, again.images)

  def test_errors_name_the_problem(self):
    root = _write_folder(self.create_tempdir().full_path)
    with self.assertRaisesRegex(images.ImageDataError, "No 'test' folder"):
      images.load_image_folder(root, 'test', 32)
    with self.assertRaisesRegex(images.ImageDataError,
                                r"Unknown class.*'ship'"):
      images.load_image_folder(root, 'train', 32, class_names=_CLASSES[:2])
    with open(os.path.join(root, 'cifar10', 'train', 'cat', 'bad.jpg'),
              'wb') as f:
      f.write(b'not an image')
    with self.assertRaisesRegex(images.ImageDataError, 'bad.jpg.*readable'):
      images.load_image_folder(root, 'train', 32)
    with self.assertRaisesRegex(images.ImageDataError, 'not found'):
      images.load_image_folder(root + '/missing.zip', 'train', 32)

  def test_task_specs_follow_the_paper(self):
    self.assertEqual((images.CIFAR10.num_clients,
                      images.CIFAR10.clients_per_round), (100, 10))
    self.assertEqual((images.FLOWERS102.num_clients,
                      images.FLOWERS102.clients_per_round), (50, 50))


if __name__ == '__main__':
  tf.test.main()
