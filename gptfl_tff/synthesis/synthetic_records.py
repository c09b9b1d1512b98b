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
"""The synthetic-data TFRecord schema: defined once, with writer and parser.

GPT-FL (Sec. 3.2) writes the generated data once and reuses it for
centralized pretraining. Every example, audio or image, is a `tf.train.Example`:

  id           bytes   prompt id (unique within a data set)
  label        int64   class id
  label_name   bytes   class name (UTF-8)
  kind         bytes   'audio' or 'image'
  data         bytes   16-bit little-endian mono PCM (audio) or an encoded
                       PNG/JPEG (image)
  sample_rate  int64   audio rate in Hz (0 for images)
  params       bytes   JSON: prompt and generation parameters (engine, voice,
                       guidance scale, seed, model id, ...)

Shards are named `{prefix}-{index:05d}-of-{total:05d}.tfrecord` and are
written to a temporary name, then renamed, so a reader never sees a partial
shard.
"""

import dataclasses
import io
import json
import os
from typing import Any, Iterable, Iterator, Optional

import numpy as np
import tensorflow as tf

from gptfl_tff import errors
from gptfl_tff import io_utils

KIND_AUDIO = 'audio'
KIND_IMAGE = 'image'

FEATURES = {
    'id': tf.io.FixedLenFeature([], tf.string),
    'label': tf.io.FixedLenFeature([], tf.int64),
    'label_name': tf.io.FixedLenFeature([], tf.string),
    'kind': tf.io.FixedLenFeature([], tf.string),
    'data': tf.io.FixedLenFeature([], tf.string),
    'sample_rate': tf.io.FixedLenFeature([], tf.int64),
    'params': tf.io.FixedLenFeature([], tf.string),
}


class RecordError(errors.UserError, ValueError):
  """A record or shard that does not follow the schema."""


@dataclasses.dataclass(frozen=True)
class SyntheticRecord:
  """One synthetic example (see module docstring for the fields)."""

  id: str
  label: int
  label_name: str
  kind: str
  data: bytes
  sample_rate: int = 0
  params: dict[str, Any] = dataclasses.field(default_factory=dict)

  @classmethod
  def from_audio(cls, id_, label, label_name, samples, sample_rate, params):
    """Builds an audio record from float samples in [-1, 1]."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype('<i2')
    return cls(id_, label, label_name, KIND_AUDIO, pcm.tobytes(),
               int(sample_rate), dict(params))

  @classmethod
  def from_image(cls, id_, label, label_name, image, size, params):
    """Builds an image record: `image` resized to `size` x `size`, as PNG.

    Args:
      id_, label, label_name, params: The record's fields.
      image: A PIL image or an (h, w, 3) uint8 array.
      size: Side of the stored image (the task resolution), bicubic.
    """
    from PIL import Image  # pylint: disable=g-import-not-at-top
    if not isinstance(image, Image.Image):
      image = Image.fromarray(np.asarray(image, np.uint8))
    image = image.convert('RGB').resize((size, size), Image.BICUBIC)
    buf = io.BytesIO()
    image.save(buf, format='PNG')
    return cls(id_, label, label_name, KIND_IMAGE, buf.getvalue(), 0,
               dict(params))

  def audio(self) -> np.ndarray:
    """The samples of an audio record as float32 in [-1, 1]."""
    if self.kind != KIND_AUDIO:
      raise RecordError(f'Record {self.id} is {self.kind}, not audio.')
    return np.frombuffer(self.data, '<i2').astype(np.float32) / 32767.0


def serialize(record: SyntheticRecord) -> bytes:
  """Encodes a record as a serialized `tf.train.Example`.

  Raises:
    RecordError: If the kind is unknown or an audio record has no rate.
  """
  if record.kind not in (KIND_AUDIO, KIND_IMAGE):
    raise RecordError(f'Record {record.id}: unknown kind {record.kind!r}.')
  if record.kind == KIND_AUDIO and record.sample_rate <= 0:
    raise RecordError(f'Record {record.id}: audio needs a sample rate.')
  b = lambda v: tf.train.Feature(bytes_list=tf.train.BytesList(value=[v]))
  i = lambda v: tf.train.Feature(int64_list=tf.train.Int64List(value=[v]))
  example = tf.train.Example(features=tf.train.Features(feature={
      'id': b(record.id.encode()),
      'label': i(record.label),
      'label_name': b(record.label_name.encode('utf-8')),
      'kind': b(record.kind.encode()),
      'data': b(record.data),
      'sample_rate': i(record.sample_rate),
      'params': b(json.dumps(record.params, sort_keys=True).encode()),
  }))
  return example.SerializeToString()


def parse(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
  """Parses serialized examples (scalar or batch) into a dict of tensors."""
  if serialized.shape.rank == 0:
    return tf.io.parse_single_example(serialized, FEATURES)
  return tf.io.parse_example(serialized, FEATURES)


def from_parsed(parsed: dict[str, Any]) -> SyntheticRecord:
  """Turns one parsed example (numpy values) back into a record."""
  text = lambda v: v.decode('utf-8') if isinstance(v, bytes) else str(v)
  return SyntheticRecord(
      id=text(parsed['id']),
      label=int(parsed['label']),
      label_name=text(parsed['label_name']),
      kind=text(parsed['kind']),
      data=bytes(parsed['data']),
      sample_rate=int(parsed['sample_rate']),
      params=json.loads(text(parsed['params'])),
  )


def shard_name(prefix: str, index: int, total: int) -> str:
  return f'{prefix}-{index:05d}-of-{total:05d}.tfrecord'


def write_shard(path: str, records: Iterable[SyntheticRecord]) -> int:
  """Writes records to `path` atomically; returns how many were written."""
  count = 0
  with io_utils.atomic_path(path) as tmp:
    with tf.io.TFRecordWriter(tmp) as writer:
      for record in records:
        writer.write(serialize(record))
        count += 1
  return count


def list_shards(folder: str, prefix: str = 'synthetic') -> list[str]:
  """Completed shards in `folder` (temporary files are not listed).

  Raises:
    RecordError: If the folder holds no shard.
  """
  if not os.path.isdir(folder):
    raise RecordError(
        f'No synthetic data folder at {folder!r}; run the generation step '
        'first (generation/speech_main.py).'
    )
  shards = sorted(
      os.path.join(folder, f) for f in os.listdir(folder)
      if f.startswith(prefix + '-') and f.endswith('.tfrecord')
  )
  if not shards:
    raise RecordError(f'No {prefix}-*.tfrecord shards in {folder!r}.')
  return shards


def read_records(paths: Iterable[str]) -> Iterator[SyntheticRecord]:
  """Yields the records of the given shards, in order."""
  for path in paths:
    for serialized in tf.data.TFRecordDataset(path).as_numpy_iterator():
      parsed = tf.nest.map_structure(
          lambda t: t.numpy(), parse(tf.constant(serialized)))
      yield from_parsed(parsed)


def create_dataset(
    paths: list[str], num_parallel_reads: Optional[int] = None
) -> tf.data.Dataset:
  """A `tf.data.Dataset` of parsed examples (dicts of tensors)."""
  return tf.data.TFRecordDataset(
      paths, num_parallel_reads=num_parallel_reads).map(parse)
