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
"""Free Spoken Digit Dataset (FSDD): the spoken-digit keyword task.

Recordings are named `{digit}_{speaker}_{index}.wav` (8 kHz mono 16-bit).
They are read from a folder, from a zip or tar archive holding them (the
upstream release archive or a trimmed copy), or from TFDS `spoken_digit`.

Splits (`TASK.load`):
  * test: indices 0-4 of every speaker and digit (FSDD's own convention),
    or, with `test_speakers`, every recording of those speakers;
  * validation: indices 5-9 of every training speaker and digit, carved
    from the training data (hyper-parameters are chosen on it);
  * train: the rest.

GPT-FL (Sec. 4.1) evaluates keyword spotting with the FedAudio model; here the
task is the ten digits, with label names 'zero' ... 'nine'.
"""

import dataclasses
import hashlib
import itertools
import os
import re
import tarfile
import zipfile
from typing import Callable, Iterator, Optional, Sequence, TypeVar

from absl import logging
import numpy as np

from gptfl_tff import audio
from gptfl_tff import io_utils
from gptfl_tff import models
from gptfl_tff.tasks import base

LABEL_NAMES = (
    'zero', 'one', 'two', 'three', 'four',
    'five', 'six', 'seven', 'eight', 'nine',
)
NUM_CLASSES = len(LABEL_NAMES)
SAMPLE_RATE = 8000
TEST_INDICES = range(0, 5)
VALIDATION_INDICES = range(5, 10)
DATA_DIR_ENV = base.DATA_DIR_ENV

_NAME_RE = re.compile(r'^(\d)_([A-Za-z]+)_(\d+)\.wav$')
_HELP = (
    'Pass --data_dir=PATH (a folder, .zip or .tar[.gz] of '
    '{digit}_{speaker}_{index}.wav files, e.g. ../shared/data/'
    'fsdd-5speakers.zip), set the environment variable '
    f'{DATA_DIR_ENV}, or pass --use_tfds where TFDS can download '
    "'spoken_digit'."
)

DataError = base.DataError


@dataclasses.dataclass(frozen=True)
class Recording:
  """One FSDD utterance's identity (parsed from its file name)."""

  digit: int
  speaker: str
  index: int
  name: str


def parse_name(path: str) -> Recording:
  """Parses `{digit}_{speaker}_{index}.wav`.

  Raises:
    DataError: If the base name does not follow that pattern.
  """
  base = os.path.basename(path)
  match = _NAME_RE.match(base)
  if not match:
    raise DataError(
        f'{path}: WAV file name does not follow '
        '{digit}_{speaker}_{index}.wav; rename or remove it.'
    )
  return Recording(int(match[1]), match[2], int(match[3]), base)


Reader = Callable[[], bytes]
_FeatureSetT = TypeVar('_FeatureSetT')


def _iter_folder(path: str, suffixes: tuple[str, ...], ordered: bool
                 ) -> Iterator[tuple[str, Reader]]:
  paths = (os.path.join(root, f) for root, _, files in os.walk(path)
           for f in sorted(files) if f.lower().endswith(suffixes))
  for full in sorted(paths) if ordered else paths:

    def read(full=full):
      with open(full, 'rb') as fh:
        return fh.read()

    yield full, read


def _iter_zip(path: str, suffixes: tuple[str, ...], ordered: bool
              ) -> Iterator[tuple[str, Reader]]:
  with zipfile.ZipFile(path) as archive:
    infos = [info for info in archive.infolist()
             if info.filename.lower().endswith(suffixes)
             and not info.is_dir()]
    if ordered:
      infos.sort(key=lambda info: info.filename)
    for info in infos:
      yield f'{path}:{info.filename}', lambda i=info: archive.read(i)


def _iter_tar(path: str, suffixes: tuple[str, ...]
              ) -> Iterator[tuple[str, Reader]]:
  with tarfile.open(path) as archive:
    for member in archive:
      if member.isfile() and member.name.lower().endswith(suffixes):
        data = archive.extractfile(member).read()
        yield f'{path}:{member.name}', lambda d=data: d


def iter_files(
    source: str, suffixes: tuple[str, ...] = ('.wav',),
    dataset: str = 'FSDD', help_text: str = _HELP, ordered: bool = False,
) -> Iterator[tuple[str, Reader]]:
  """Yields `(name, read_fn)` for every file of a folder or archive.

  Shared by the audio tasks.

  Args:
    source: A folder, a `.zip`, or a `.tar`/`.tar.gz`/`.tgz` archive.
    suffixes: Lower-case endings of the files to yield.
    dataset: Dataset name for error messages.
    help_text: How to pass the data, for error messages.
    ordered: Yield a folder's or zip's files sorted by name (a folder's
      walk order is the filesystem's). A tar is always read in member
      order, once, front to back, so a large `.tar.gz` streams.

  Yields:
    `(name, read_fn)`: the file's path (`archive:member` in an archive) and
    a function returning its bytes.

  Raises:
    DataError: If `source` does not exist or is of an unknown kind.
  """
  if not source:
    raise DataError(f'No {dataset} data source given. {help_text}')
  if os.path.isdir(source):
    yield from _iter_folder(source, suffixes, ordered)
  elif os.path.isfile(source) and zipfile.is_zipfile(source):
    yield from _iter_zip(source, suffixes, ordered)
  elif os.path.isfile(source) and tarfile.is_tarfile(source):
    yield from _iter_tar(source, suffixes)
  elif not os.path.exists(source):
    raise DataError(f'{dataset} data not found at {source!r}. {help_text}')
  else:
    raise DataError(
        f'{source!r} is neither a folder nor a zip/tar archive. {help_text}'
    )


def member_path(name: str, source: str) -> str:
  """The path of an `iter_files` name inside its source, '/'-separated.

  Args:
    name: A name `iter_files(source)` yielded (a file path in a folder,
      `archive:member` in an archive).
    source: The folder or archive.

  Returns:
    E.g. 'right/0a7c2a8d_nohash_0.wav' (with any folder the archive puts
    its files under, such as 'ESC-50-master/audio/1-100032-A-0.wav').
  """
  rel = name[len(source):] if name.startswith(source) else name
  parts = rel.lstrip(':').replace(os.sep, '/').split('/')
  return '/'.join(p for p in parts if p not in ('', '.'))


def iter_wav_files(source: str) -> Iterator[tuple[str, Reader]]:
  """Yields `(name, read_fn)` for every WAV file in a folder or archive.

  Args:
    source: A folder, a `.zip`, or a `.tar`/`.tar.gz`/`.tgz` archive.

  Raises:
    DataError: If `source` does not exist or is of an unknown kind.
  """
  yield from iter_files(source)


@dataclasses.dataclass
class FeatureSet:
  """Log-mel features of a set of utterances, with their identities.

  Attributes:
    features: float32 `[n, frames, mel_bins]`.
    labels: int32 `[n]`, class ids.
    speakers: str `[n]`.
    indices: int32 `[n]`, the take index of each utterance.
  """

  features: np.ndarray
  labels: np.ndarray
  speakers: np.ndarray
  indices: np.ndarray

  def __len__(self) -> int:
    return len(self.labels)

  def subset(self, mask_or_indices: np.ndarray) -> 'FeatureSet':
    return FeatureSet(
        self.features[mask_or_indices],
        self.labels[mask_or_indices],
        self.speakers[mask_or_indices],
        self.indices[mask_or_indices],
    )


def read_recordings(
    source: str, expected_rate: Optional[int] = SAMPLE_RATE
) -> tuple[list[Recording], list[np.ndarray], list[int]]:
  """Reads and decodes every FSDD recording in a folder or archive.

  Args:
    source: Folder or archive (see `iter_wav_files`).
    expected_rate: If set, a file at another sample rate is an error.

  Returns:
    `(recordings, waveforms, rates)`, sorted by file name.

  Raises:
    DataError: If nothing usable is found, or a name is malformed.
    audio.AudioError: If a file is corrupt or at an unexpected rate.
  """
  items = []
  for name, read in iter_wav_files(source):
    rec = parse_name(name)
    samples, rate = audio.decode_wav(read(), name)
    if expected_rate is not None and rate != expected_rate:
      raise audio.AudioError(
          f'{name}: sample rate {rate} Hz, expected {expected_rate} Hz for '
          f'FSDD. Resample it (e.g. `sox {rec.name} -r {expected_rate} '
          'out.wav`) or remove it.'
      )
    items.append((rec, samples, rate))
  if not items:
    raise DataError(f'No FSDD WAV files found in {source!r}. {_HELP}')
  items.sort(key=lambda x: (x[0].speaker, x[0].digit, x[0].index))
  recs, waves, rates = zip(*items)
  return list(recs), list(waves), list(rates)


def read_tfds(data_dir: Optional[str] = None):
  """Reads TFDS `spoken_digit` (needs network the first time).

  Args:
    data_dir: TFDS data folder.

  Returns:
    Same as `read_recordings`.

  Raises:
    DataError: If TFDS cannot provide the dataset.
  """
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

  try:
    ds = tfds.load('spoken_digit', split='train', data_dir=data_dir)
  except Exception as e:  # pylint: disable=broad-except
    raise DataError(f'TFDS could not load spoken_digit ({e}). {_HELP}') from e
  recs, waves, rates = [], [], []
  for ex in tfds.as_numpy(ds):
    name = os.path.basename(ex['audio/filename'].decode())
    recs.append(parse_name(name))
    waves.append(ex['audio'].astype(np.float32) / 32768.0)
    rates.append(SAMPLE_RATE)
  return recs, waves, rates


def cache_key(source: str, config: audio.FrontEndConfig,
              suffixes: tuple[str, ...] = ('.wav',)) -> str:
  """A digest of a data source and front end, naming a feature cache.

  Args:
    source: Folder or archive.
    config: Front-end settings.
    suffixes: In a folder, the files whose names, sizes and times count.

  Returns:
    16 hex digits: of the settings, the source's path, and an archive's
    size and time or a folder's files' names, sizes and times.
  """
  h = hashlib.sha256(repr(config).encode())
  h.update(os.path.abspath(source).encode())
  if os.path.isfile(source):
    st = os.stat(source)
    h.update(f'{st.st_size}:{st.st_mtime_ns}'.encode())
  else:
    for name, _ in iter_files(source, suffixes):
      st = os.stat(name)
      h.update(f'{name}:{st.st_size}:{st.st_mtime_ns}'.encode())
  return h.hexdigest()[:16]


def features_in_chunks(decoded: Iterator[tuple[np.ndarray, int]],
                       config: audio.FrontEndConfig,
                       chunk_size: int) -> np.ndarray:
  """Front-end features of `(samples, rate)` pairs, a chunk at a time.

  Shared by the audio tasks: only one chunk of waveforms is held at once.

  Args:
    decoded: `(samples, rate)` per clip, e.g. from `audio.decode_wav`.
    config: Front-end settings (any rate is resampled to its rate).
    chunk_size: Clips featurised per front-end call.

  Returns:
    float32 `[n, *config.feature_shape]`, in the order of `decoded`.
  """
  out = [np.zeros((0,) + config.feature_shape, np.float32)]
  while chunk := list(itertools.islice(decoded, chunk_size)):
    waves, rates = zip(*chunk)
    out.append(audio.waveforms_to_features(list(waves), list(rates), config))
  return np.concatenate(out)


def cached_features(
    cls: type[_FeatureSetT], read: Callable[[], _FeatureSetT], source: str,
    config: audio.FrontEndConfig, cache_dir: Optional[str], prefix: str,
    dataset: str, suffixes: tuple[str, ...] = ('.wav',),
) -> _FeatureSetT:
  """`read()`, cached in `cache_dir` if given (shared by the audio tasks).

  Args:
    cls: The dataclass of arrays `read` returns; its fields are the arrays
      of the cache file.
    read: Reads and featurises `source`.
    source: Folder or archive.
    config: Front-end settings.
    cache_dir: Cache folder, or None to always read.
    prefix: Cache file name prefix: `<prefix>_<cache_key>.npz`.
    dataset: Dataset name for the log line.
    suffixes: In a folder, the files whose names, sizes and times key the
      cache (see `cache_key`).

  Returns:
    The cached `cls`, or `read()`'s (then saved if `cache_dir` is set).
  """
  cache_path = None
  if cache_dir:
    key = cache_key(source, config, suffixes)
    cache_path = os.path.join(cache_dir, f'{prefix}_{key}.npz')
    if os.path.exists(cache_path):
      with np.load(cache_path) as z:
        return cls(**{f.name: z[f.name] for f in dataclasses.fields(cls)})
  feature_set = read()
  if cache_path:
    io_utils.atomic_save_npz(cache_path, **dataclasses.asdict(feature_set))
    logging.info('Cached %s features at %s', dataset, cache_path)
  return feature_set


def create_feature_set(
    source: Optional[str],
    config: audio.FrontEndConfig = audio.FrontEndConfig(),
    cache_dir: Optional[str] = None,
    use_tfds: bool = False,
) -> FeatureSet:
  """Loads FSDD and runs the front end on every utterance.

  Args:
    source: Folder or archive (see `base.DataConfig.source`).
    config: Front-end settings.
    cache_dir: If set, features are cached there (keyed by the source's file
      names, sizes and times, and the front-end settings).
    use_tfds: Read TFDS `spoken_digit` instead of `source`.

  Returns:
    A `FeatureSet` of every utterance.
  """
  if use_tfds:
    recs, waves, rates = read_tfds()
    return _features(recs, waves, rates, config)
  if not source:
    raise DataError(f'No FSDD data given. {_HELP}')
  return cached_features(
      FeatureSet, lambda: _features(*read_recordings(source), config), source,
      config, cache_dir, 'fsdd', 'FSDD')


def _features(recs, waves, rates, config) -> FeatureSet:
  return FeatureSet(
      features=audio.waveforms_to_features(waves, rates, config),
      labels=np.array([r.digit for r in recs], np.int32),
      speakers=np.array([r.speaker for r in recs]),
      indices=np.array([r.index for r in recs], np.int32),
  )


def split_by_index(
    feature_set: FeatureSet, test_indices: Sequence[int] = TEST_INDICES
) -> tuple[FeatureSet, FeatureSet]:
  """FSDD's conventional split: `(train, test)` by take index."""
  test = np.isin(feature_set.indices, list(test_indices))
  return feature_set.subset(~test), feature_set.subset(test)


def split_by_speaker(
    feature_set: FeatureSet, test_speakers: Sequence[str]
) -> tuple[FeatureSet, FeatureSet]:
  """Holds out whole speakers: `(train, test)`.

  Raises:
    DataError: If a named speaker is not in the data, or none remain.
  """
  known = set(feature_set.speakers.tolist())
  unknown = sorted(set(test_speakers) - known)
  if unknown:
    raise DataError(
        f'Unknown test speaker(s) {unknown}; the data has {sorted(known)}.'
    )
  test = np.isin(feature_set.speakers, list(test_speakers))
  if test.all():
    raise DataError('Every speaker is held out; leave at least one to train.')
  return feature_set.subset(~test), feature_set.subset(test)


def split_three_way(
    feature_set: FeatureSet, test_speakers: Sequence[str] = ()
) -> tuple[FeatureSet, FeatureSet, FeatureSet]:
  """`(train, validation, test)`: see the module docstring.

  Raises:
    DataError: If a named test speaker is unknown or none would remain.
  """
  if test_speakers:
    rest, test = split_by_speaker(feature_set, test_speakers)
  else:
    rest, test = split_by_index(feature_set)
  val = np.isin(rest.indices, list(VALIDATION_INDICES))
  if val.all() or not val.any():
    raise DataError(
        'The recordings leave no training or no validation examples: FSDD '
        f'validation takes indices {VALIDATION_INDICES.start}-'
        f'{VALIDATION_INDICES.stop - 1} of every training speaker and '
        'digit; provide the full 0-49 takes.')
  return rest.subset(~val), rest.subset(val), test


def _example_set(feature_set: FeatureSet) -> base.ExampleSet:
  return base.ExampleSet(feature_set.features, feature_set.labels,
                         feature_set.speakers)


class FsddTask(base.AudioTask):
  """Spoken digits (FSDD): ten words, clients are speakers."""

  name = 'fsdd'
  label_names = LABEL_NAMES
  sample_rate = SAMPLE_RATE
  models = {'keyword': models.create_keyword_model}
  paper_section = 'Sec. 4 (keyword spotting protocol, on FSDD)'
  defaults = base.Defaults(
      model='keyword', partition=base.Partition.NATURAL, num_clients=15,
      clients_per_round=5, dirichlet_alpha=0.1, client_learning_rate=0.05,
      finetune_client_learning_rate=0.01, client_epochs=1,
      client_batch_size=32, rounds=30, eval_every=1, prompts_per_label=300,
      generator='speech', pretrain_epochs=10)

  def load(self, data: base.DataConfig) -> base.Splits:
    self.check_data_config(data)
    features = create_feature_set(
        None if data.use_tfds else data.source(_HELP), self.frontend,
        data.cache_dir, data.use_tfds)
    train, val, test = split_three_way(features, data.test_speakers)
    return base.Splits(
        base.cap_per_class(_example_set(train), data.max_train_per_class),
        _example_set(val), _example_set(test))


TASK = FsddTask(audio.FrontEndConfig())
TASKS = (TASK,)
