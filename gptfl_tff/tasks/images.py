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
"""Image classification tasks: CIFAR-10, CIFAR-100, Oxford Flowers102.

GPT-FL's main experiments (Sec. 4, Tables 2-5). Data comes from TFDS
(`cifar10`, `cifar100`, `oxford_flowers102`) for users with network, or from
an image-folder layout `<split>/<class>/<file>` in a folder or zip archive
(the development copy `../shared/data/cifar10-train.zip` holds
`cifar10/train/<class>/<n>.jpg`). A validation split is carved out of a
training split deterministically: per class, a seeded fraction.

Partitions as in the paper: Dirichlet(alpha in {0.1, 0.5}) over 100 clients
(10 sampled per round) for CIFAR, 50 clients (all per round) for
Flowers102 (see `partition.dirichlet`).
"""

import dataclasses
import functools
import io
import os
import zipfile
from typing import Optional, Sequence

import numpy as np
from PIL import Image

from gptfl_tff import models
from gptfl_tff.tasks import base

ImageDataError = base.DataError
VALIDATION_FRACTION = 0.1


@dataclasses.dataclass(frozen=True)
class TaskSpec:
  """What defines an image task's data.

  Attributes:
    name: TFDS name.
    image_size: Side of the (square) model input.
    num_classes: Number of classes.
    num_clients: Clients of the paper's partition.
    clients_per_round: Clients per round in the paper.
    class_names: Class names in label order (TFDS order), where fixed; an
      image folder's class folders are mapped onto them.
  """

  name: str
  image_size: int
  num_classes: int
  num_clients: int
  clients_per_round: int
  class_names: Optional[tuple[str, ...]] = None


CIFAR10 = TaskSpec('cifar10', 32, 10, 100, 10, (
    'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse',
    'ship', 'truck'))
# CIFAR-100 fine labels in TFDS order (alphabetical).
CIFAR100 = TaskSpec('cifar100', 32, 100, 100, 10, (
    'apple', 'aquarium_fish', 'baby', 'bear', 'beaver', 'bed', 'bee',
    'beetle', 'bicycle', 'bottle', 'bowl', 'boy', 'bridge', 'bus',
    'butterfly', 'camel', 'can', 'castle', 'caterpillar', 'cattle',
    'chair', 'chimpanzee', 'clock', 'cloud', 'cockroach', 'couch', 'crab',
    'crocodile', 'cup', 'dinosaur', 'dolphin', 'elephant', 'flatfish',
    'forest', 'fox', 'girl', 'hamster', 'house', 'kangaroo', 'keyboard',
    'lamp', 'lawn_mower', 'leopard', 'lion', 'lizard', 'lobster', 'man',
    'maple_tree', 'motorcycle', 'mountain', 'mouse', 'mushroom',
    'oak_tree', 'orange', 'orchid', 'otter', 'palm_tree', 'pear',
    'pickup_truck', 'pine_tree', 'plain', 'plate', 'poppy', 'porcupine',
    'possum', 'rabbit', 'raccoon', 'ray', 'road', 'rocket', 'rose', 'sea',
    'seal', 'shark', 'shrew', 'skunk', 'skyscraper', 'snail', 'snake',
    'spider', 'squirrel', 'streetcar', 'sunflower', 'sweet_pepper',
    'table', 'tank', 'telephone', 'television', 'tiger', 'tractor',
    'train', 'trout', 'tulip', 'turtle', 'wardrobe', 'whale',
    'willow_tree', 'wolf', 'woman', 'worm'))
FLOWERS102 = TaskSpec('oxford_flowers102', 64, 102, 50, 50)

_IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp')


@dataclasses.dataclass
class ImageSet:
  """Images as uint8 `[n, size, size, 3]` with int32 labels."""

  images: np.ndarray
  labels: np.ndarray
  class_names: tuple[str, ...]

  def __len__(self) -> int:
    return len(self.labels)

  def subset(self, idx: np.ndarray) -> 'ImageSet':
    return ImageSet(self.images[idx], self.labels[idx], self.class_names)


def _read_file(path: str) -> bytes:
  with open(path, 'rb') as f:
    return f.read()


def _decode(data: bytes, name: str, size: int) -> np.ndarray:
  try:
    with Image.open(io.BytesIO(data)) as im:
      im = im.convert('RGB')
      if im.size != (size, size):
        im = im.resize((size, size), Image.BICUBIC)
      return np.asarray(im, np.uint8)
  except Exception as e:  # pylint: disable=broad-except
    raise ImageDataError(
        f'{name}: not a readable image ({e}); remove or replace it.') from e


def _entries(source: str, split: str):
  """Yields (class_name, file_name, read_fn) for `<split>/<class>/<file>`."""
  if os.path.isdir(source):
    roots = [os.path.join(source, split)] + [
        os.path.join(source, d, split) for d in sorted(os.listdir(source))]
    root = next((r for r in roots if os.path.isdir(r)), None)
    if root is None:
      raise ImageDataError(
          f'No {split!r} folder in {source!r}; expected '
          f'{source}/[<dataset>/]{split}/<class>/<image>.')
    for cls in sorted(os.listdir(root)):
      folder = os.path.join(root, cls)
      if not os.path.isdir(folder):
        continue
      for f in sorted(os.listdir(folder)):
        if f.lower().endswith(_IMAGE_SUFFIXES):
          path = os.path.join(folder, f)
          yield cls, path, functools.partial(_read_file, path)
  elif os.path.isfile(source) and zipfile.is_zipfile(source):
    archive = zipfile.ZipFile(source)  # pylint: disable=consider-using-with
    items = []
    for info in archive.infolist():
      parts = info.filename.split('/')
      if (len(parts) >= 3 and parts[-3] == split and
          parts[-1].lower().endswith(_IMAGE_SUFFIXES)):
        items.append((parts[-2], info))
    if not items:
      raise ImageDataError(
          f'No {split}/<class>/<image> entries in {source!r}.')
    for cls, info in sorted(items, key=lambda x: x[1].filename):
      yield cls, f'{source}:{info.filename}', (
          lambda i=info: archive.read(i))
  else:
    raise ImageDataError(
        f'Image data not found at {source!r}: pass a folder or .zip with '
        f'<split>/<class>/<image> files (e.g. ../shared/data/'
        'cifar10-train.zip), or use TFDS.')


def load_image_folder(
    source: str, split: str, image_size: int,
    class_names: Optional[Sequence[str]] = None,
    max_per_class: Optional[int] = None,
) -> ImageSet:
  """Loads `<split>/<class>/<file>` images from a folder or zip.

  Args:
    source: Folder or zip archive.
    split: Split folder name, e.g. 'train'.
    image_size: Images are resized to this square size.
    class_names: Class order; default: sorted folder names. A folder not in
      this list is an error.
    max_per_class: Keep only the first N files (sorted) of each class.

  Returns:
    An `ImageSet`.

  Raises:
    ImageDataError: On missing data, unreadable images or unknown classes.
  """
  per_class = {}
  for cls, name, read in _entries(source, split):
    per_class.setdefault(cls, [])
    if max_per_class is None or len(per_class[cls]) < max_per_class:
      per_class[cls].append((name, read))
  names = tuple(class_names or sorted(per_class))
  unknown = sorted(set(per_class) - set(names))
  if unknown:
    raise ImageDataError(
        f'Unknown class folder(s) {unknown} in {source!r}; expected '
        f'{list(names)}.')
  images, labels = [], []
  for label, cls in enumerate(names):
    for name, read in per_class.get(cls, []):
      images.append(_decode(read(), name, image_size))
      labels.append(label)
  if not images:
    raise ImageDataError(f'No images found in {source!r} ({split}).')
  return ImageSet(np.stack(images), np.array(labels, np.int32), names)


def split_validation(
    data: ImageSet, fraction: float, seed: int = 0
) -> tuple[ImageSet, ImageSet]:
  """`(train, validation)`: a seeded `fraction` of every class held out."""
  if not 0 < fraction < 1:
    raise ImageDataError(f'fraction must be in (0, 1), got {fraction}.')
  rng = np.random.default_rng(seed)
  held = []
  for c in np.unique(data.labels):
    idx = np.flatnonzero(data.labels == c)
    held.extend(rng.permutation(idx)[:int(round(fraction * len(idx)))])
  mask = np.zeros(len(data), bool)
  mask[held] = True
  return data.subset(~mask), data.subset(mask)


def load_tfds(spec: TaskSpec, split: str,
              data_dir: Optional[str] = None) -> ImageSet:
  """Loads a task from TFDS (needs network the first time).

  Raises:
    ImageDataError: If TFDS cannot provide it.
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  try:
    ds, info = tfds.load(spec.name, split=split, data_dir=data_dir,
                         with_info=True, as_supervised=True)
  except Exception as e:  # pylint: disable=broad-except
    raise ImageDataError(
        f'TFDS could not load {spec.name} ({e}); use an image folder '
        'instead.') from e
  images, labels = [], []
  for image, label in ds.map(lambda x, y: (
      tf.cast(tf.image.resize(x, (spec.image_size, spec.image_size)),
              tf.uint8), y)).as_numpy_iterator():
    images.append(image)
    labels.append(label)
  return ImageSet(np.stack(images), np.array(labels, np.int32),
                  tuple(info.features['label'].names))


def has_split(source: str, split: str) -> bool:
  """Whether a folder or zip holds `<split>/<class>/<image>` entries."""
  try:
    next(iter(_entries(source, split)))
    return True
  except (ImageDataError, StopIteration):
    return False


_HELP = (
    'Pass --data_dir=PATH (a folder or .zip of <split>/<class>/<image>, '
    'e.g. ../shared/data/cifar10-train.zip), set $GPTFL_DATA_DIR, or pass '
    '--use_tfds where TFDS can download the dataset.')


def _example_set(data: ImageSet) -> base.ExampleSet:
  return base.ExampleSet(data.images, data.labels,
                         np.full(len(data), '', dtype='<U1'))


class ImageClassificationTask(base.ImageTask):
  """An image task of GPT-FL's Tables 2-5 (Dirichlet clients)."""

  models = models.IMAGE_MODELS
  paper_section = 'Sec. 4.1, Tables 2-5'

  def __init__(self, spec: TaskSpec, defaults: base.Defaults,
               label_names: Sequence[str]):
    super().__init__(spec.image_size)
    self.spec = spec
    self.name = spec.name
    self.defaults = defaults
    self.label_names = tuple(label_names)

  def load(self, data: base.DataConfig) -> base.Splits:
    """Train / validation (a seeded 10% per class) / test (if present).

    The test split is the folder's `test/` (or TFDS's test split); the
    development copy of CIFAR-10 has none, and then only validation is
    reported.
    """
    self.check_data_config(data)
    if data.use_tfds:
      train, test = load_tfds(self.spec, 'train'), load_tfds(self.spec, 'test')
      self.label_names = train.class_names
    else:
      source = data.source(_HELP)
      train = load_image_folder(source, 'train', self.spec.image_size,
                                class_names=self.spec.class_names)
      test = None
      if self.spec.class_names is None:
        self.label_names = train.class_names
      if has_split(source, 'test'):
        test = load_image_folder(source, 'test', self.spec.image_size,
                                 class_names=self.label_names)
    train, val = split_validation(train, VALIDATION_FRACTION, data.seed)
    return base.Splits(
        base.cap_per_class(_example_set(train), data.max_train_per_class),
        _example_set(val), None if test is None else _example_set(test))


_IMAGE_DEFAULTS = base.Defaults(
    model='convnet', partition=base.Partition.DIRICHLET, num_clients=100,
    clients_per_round=10, dirichlet_alpha=0.5, client_learning_rate=0.01,
    finetune_client_learning_rate=0.01, client_epochs=1,
    client_batch_size=32, rounds=1000, eval_every=5, prompts_per_label=500,
    generator='diffusers', pretrain_epochs=50)

CIFAR10_TASK = ImageClassificationTask(CIFAR10, _IMAGE_DEFAULTS,
                                       CIFAR10.class_names)
CIFAR100_TASK = ImageClassificationTask(CIFAR100, _IMAGE_DEFAULTS,
                                        CIFAR100.class_names)
# Flowers102's 102 names come with the data (TFDS info or the class
# folders); until loaded, its labels are placeholders.
FLOWERS102_TASK = ImageClassificationTask(
    FLOWERS102, dataclasses.replace(
        _IMAGE_DEFAULTS, num_clients=50, clients_per_round=50),
    [f'flower_{i:03d}' for i in range(102)])
TASKS = (CIFAR10_TASK, CIFAR100_TASK, FLOWERS102_TASK)
