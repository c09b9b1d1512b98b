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
"""Google Speech Commands v0.02: GPT-FL's keyword-spotting task (Sec. 4).

105,829 one-second 16 kHz clips of 35 words from 2,618 speakers (Warden
2018). The release (a folder, `.zip` or `.tar.gz`, e.g.
`speech_commands_v0.02.tar.gz`) holds `<word>/<speaker>_nohash_<n>.wav`
and, at its root, `validation_list.txt` and `testing_list.txt`, which name
clips as `<word>/<file>` (e.g. `right/bb05582b_nohash_3.wav`);
`_background_noise_/` is ignored. With `--use_tfds` the same archive is
downloaded through TFDS's download manager: TFDS's prepared
`speech_commands` keeps only 12 classes (ten words, silence, unknown) and no
speaker ids, so it cannot give this task.

Splits (`TASK.load`), the release's own, which assign whole speakers by a
hash of their id (speaker-disjoint, as in Sec. 4.1):
  * validation: the clips in `validation_list.txt`;
  * test: the clips in `testing_list.txt`, or, with `test_speakers`, every
    clip of those speakers (the testing list's other clips then train);
  * train: every other clip.
A trimmed copy may hold fewer clips than the lists name.

Clients are speakers, the part of a file name before `_nohash_` (Sec. 4.1,
as in FedAudio). Labels are the words in sorted order (FedAudio's ids:
'backward' 0 ... 'zero' 34), and speech prompts speak them. Features are
the speech front end of `audio.FrontEndConfig()` (FedAudio's 94 x 128
log-mel per clip with the band-mean normalisation FSDD uses) and the model
is FedAudio's keyword model. The whole
release is about 4.5 GB of features; clips are decoded and featurised in
chunks, so only the features are held.
"""

import dataclasses
import os
import re
from typing import Optional, Sequence

import numpy as np

from gptfl_tff import audio
from gptfl_tff import models
from gptfl_tff.tasks import base
from gptfl_tff.tasks import fsdd

WORDS = (
    'backward', 'bed', 'bird', 'cat', 'dog', 'down', 'eight', 'five',
    'follow', 'forward', 'four', 'go', 'happy', 'house', 'learn', 'left',
    'marvin', 'nine', 'no', 'off', 'on', 'one', 'right', 'seven', 'sheila',
    'six', 'stop', 'three', 'tree', 'two', 'up', 'visual', 'wow', 'yes',
    'zero',
)
LABEL_NAMES = WORDS
SAMPLE_RATE = 16000
VALIDATION_LIST = 'validation_list.txt'
TESTING_LIST = 'testing_list.txt'
BACKGROUND_NOISE = '_background_noise_'
ARCHIVE_URL = (
    'http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz')
TRAIN, VALIDATION, TEST = 0, 1, 2
CHUNK_SIZE = 1024

_NAME_RE = re.compile(r'^([0-9A-Za-z]+)_nohash_(\d+)\.wav$')
_HELP = (
    'Pass --data_dir=PATH (the Speech Commands v0.02 release: a folder, '
    '.zip or .tar.gz of <word>/<speaker>_nohash_<n>.wav files with '
    f'{VALIDATION_LIST} and {TESTING_LIST}, e.g. '
    'speech_commands_v0.02.tar.gz), set the environment variable '
    f'{base.DATA_DIR_ENV}, or pass --use_tfds where TFDS can download the '
    'release.'
)

DataError = base.DataError


@dataclasses.dataclass(frozen=True)
class Clip:
  """One clip's identity, from its path in the release.

  Attributes:
    word: Its word (folder).
    speaker: Speaker id, the file name before `_nohash_`.
    index: The speaker's take of the word.
    key: `<word>/<file>`, as the list files name it.
  """

  word: str
  speaker: str
  index: int
  key: str


def parse_path(path: str, name: Optional[str] = None) -> Optional[Clip]:
  """Parses `[...]/<word>/<speaker>_nohash_<n>.wav`.

  Args:
    path: The clip's '/'-separated path in the release.
    name: How to name the file in errors (default: `path`).

  Returns:
    The clip, or None for a file of `_background_noise_`.

  Raises:
    DataError: If the clip is outside a word folder, in an unknown word's
      folder, or its file name does not follow the pattern.
  """
  name = name or path
  parts = path.split('/')
  if BACKGROUND_NOISE in parts[:-1]:
    return None
  if len(parts) < 2:
    raise DataError(
        f'{name}: a clip outside a word folder; Speech Commands clips are '
        '<word>/<speaker>_nohash_<n>.wav. Move or remove it.')
  word, file_name = parts[-2], parts[-1]
  if word not in WORDS:
    raise DataError(
        f'{name}: unknown word folder {word!r}; Speech Commands v0.02 has '
        f'the 35 words {list(WORDS)}. Remove the folder, or pass '
        '--data_dir= the v0.02 release (its separate test-set archive has '
        'other folders).')
  match = _NAME_RE.match(file_name)
  if not match:
    raise DataError(
        f'{name}: file name does not follow <speaker>_nohash_<n>.wav; '
        'rename or remove it.')
  return Clip(word, match[1], int(match[2]), f'{word}/{file_name}')


def parse_list(text: bytes, name: str) -> set[str]:
  """The `<word>/<file>` keys of a validation or testing list.

  Raises:
    DataError: If a line is not `<word>/<file>.wav` of a known word.
  """
  keys = set()
  for number, line in enumerate(text.decode('utf-8').splitlines(), 1):
    line = line.strip()
    if not line:
      continue
    parts = line.split('/')
    if (len(parts) != 2 or parts[0] not in WORDS or
        not parts[1].endswith('.wav')):
      raise DataError(
          f'{name}, line {number}: {line!r} is not <word>/<file>.wav of a '
          'Speech Commands word; restore the release\'s list file.')
    keys.add(line)
  return keys


@dataclasses.dataclass
class ClipSet:
  """Log-mel features of Speech Commands clips, with their identities.

  Attributes:
    features: float32 `[n, frames, mel_bins]`.
    labels: int32 `[n]`, indices into `WORDS`.
    speakers: str `[n]`.
    keys: str `[n]`, `<word>/<file>`.
    splits: int8 `[n]`: `TRAIN`, `VALIDATION` or `TEST` by the lists.
  """

  features: np.ndarray
  labels: np.ndarray
  speakers: np.ndarray
  keys: np.ndarray
  splits: np.ndarray

  def __len__(self) -> int:
    return len(self.labels)

  def subset(self, idx: np.ndarray) -> 'ClipSet':
    return ClipSet(self.features[idx], self.labels[idx], self.speakers[idx],
                   self.keys[idx], self.splits[idx])


def read_clips(source: str,
               config: audio.FrontEndConfig = audio.FrontEndConfig()
               ) -> ClipSet:
  """Reads, decodes and featurises a release.

  A folder's or zip's files are read in name order, so their features are
  the same bits wherever they lie (the front end's batches are read
  order); a tar is read once in its member order.

  Args:
    source: Folder or archive (see `fsdd.iter_files`).
    config: Front-end settings (clips are padded or cropped to its length).

  Returns:
    Every clip, sorted by (speaker, word, take).

  Raises:
    DataError: If the source, a list file or a clip's path is missing or
      malformed, or the lists leave nothing to train on.
    audio.AudioError: If a clip is not a readable 16-bit WAV file.
  """
  lists, clips = {}, []

  def decoded():
    for name, read in fsdd.iter_files(source, ('.wav', '.txt'),
                                      'Speech Commands', _HELP, ordered=True):
      path = fsdd.member_path(name, source)
      base_name = path.split('/')[-1]
      if base_name in (VALIDATION_LIST, TESTING_LIST):
        if base_name in lists:
          raise DataError(
              f'Two {base_name} files in {source!r} ({lists[base_name][0]} '
              f'and {name}); pass --data_dir= one release.')
        lists[base_name] = (name, read())
      elif path.lower().endswith('.wav'):
        clip = parse_path(path, name)
        if clip is not None:
          clips.append(clip)
          yield audio.decode_wav(read(), name)

  features = fsdd.features_in_chunks(decoded(), config, CHUNK_SIZE)
  if not clips:
    raise DataError(f'No Speech Commands clips found in {source!r}. {_HELP}')
  keys = {}
  for list_name in (VALIDATION_LIST, TESTING_LIST):
    if list_name not in lists:
      raise DataError(
          f'No {list_name} in {source!r}: the v0.02 release has '
          f'{VALIDATION_LIST} and {TESTING_LIST} at its root, naming the '
          f'validation and test clips. {_HELP}')
    keys[list_name] = parse_list(lists[list_name][1], lists[list_name][0])
  both = keys[VALIDATION_LIST] & keys[TESTING_LIST]
  if both:
    raise DataError(
        f'{len(both)} clips are in both {VALIDATION_LIST} and '
        f'{TESTING_LIST} (e.g. {sorted(both)[0]}); restore the release\'s '
        'lists.')
  splits = [VALIDATION if c.key in keys[VALIDATION_LIST] else
            TEST if c.key in keys[TESTING_LIST] else TRAIN for c in clips]
  order = sorted(range(len(clips)), key=lambda i: (
      clips[i].speaker, WORDS.index(clips[i].word), clips[i].index,
      clips[i].key))
  return ClipSet(
      features=features,
      labels=np.array([WORDS.index(c.word) for c in clips], np.int32),
      speakers=np.array([c.speaker for c in clips]),
      keys=np.array([c.key for c in clips]),
      splits=np.array(splits, np.int8),
  ).subset(np.array(order, np.int64))


def download_release(data_dir: Optional[str] = None) -> str:
  """Downloads the v0.02 archive with TFDS's download manager (network).

  Args:
    data_dir: TFDS data folder (default `~/tensorflow_datasets`); the
      archive is kept under its `downloads/`.

  Returns:
    The archive's local path.

  Raises:
    DataError: If the download fails.
  """
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

  root = data_dir or os.path.join(os.path.expanduser('~'),
                                  'tensorflow_datasets')
  try:
    manager = tfds.download.DownloadManager(
        download_dir=os.path.join(root, 'downloads'))
    return os.fspath(manager.download(ARCHIVE_URL))
  except Exception as e:  # pylint: disable=broad-except
    raise DataError(
        f'TFDS could not download {ARCHIVE_URL} ({e}). {_HELP}') from e


def create_clip_set(
    source: Optional[str],
    config: audio.FrontEndConfig = audio.FrontEndConfig(),
    cache_dir: Optional[str] = None,
    use_tfds: bool = False,
) -> ClipSet:
  """Loads a release and runs the front end on every clip.

  Args:
    source: Folder or archive (see `base.DataConfig.source`).
    config: Front-end settings.
    cache_dir: If set, features are cached there (keyed by the source's
      files' names, sizes and times, and the front-end settings).
    use_tfds: Download the release through TFDS instead of `source`.

  Returns:
    A `ClipSet` of every clip.

  Raises:
    DataError: On missing or malformed data (see `read_clips`).
  """
  if use_tfds:
    source = download_release()
  if not source:
    raise DataError(f'No Speech Commands data given. {_HELP}')
  return fsdd.cached_features(
      ClipSet, lambda: read_clips(source, config), source, config,
      cache_dir, 'speech_commands', 'Speech Commands', ('.wav', '.txt'))


def split_three_way(
    clip_set: ClipSet, test_speakers: Sequence[str] = ()
) -> tuple[ClipSet, ClipSet, ClipSet]:
  """`(train, validation, test)`: see the module docstring.

  Raises:
    DataError: If a named test speaker is unknown, every speaker is held
      out, or no training or no validation clips remain.
  """
  if test_speakers:
    known = set(clip_set.speakers.tolist())
    unknown = sorted(set(test_speakers) - known)
    if unknown:
      raise DataError(
          f'Unknown test speaker(s) {unknown}; pass --test_speakers= ids '
          'from the file names (<speaker>_nohash_<n>.wav).')
    test = np.isin(clip_set.speakers, list(test_speakers))
    if test.all():
      raise DataError(
          'Every speaker is held out; leave at least one to train.')
    val = (clip_set.splits == VALIDATION) & ~test
  else:
    test = clip_set.splits == TEST
    val = clip_set.splits == VALIDATION
  train = ~test & ~val
  if not train.any() or not val.any():
    raise DataError(
        'The clips leave no training or no validation examples: '
        f'validation is the clips {VALIDATION_LIST} names, training those '
        f'neither list names; provide the release with both. {_HELP}')
  return (clip_set.subset(np.flatnonzero(train)),
          clip_set.subset(np.flatnonzero(val)),
          clip_set.subset(np.flatnonzero(test)))


def _example_set(clip_set: ClipSet) -> base.ExampleSet:
  return base.ExampleSet(clip_set.features, clip_set.labels,
                         clip_set.speakers)


class SpeechCommandsTask(base.AudioTask):
  """Speech Commands v0.02: 35 words, clients are speakers."""

  name = 'speech_commands'
  label_names = LABEL_NAMES
  sample_rate = SAMPLE_RATE
  models = {'keyword': models.create_keyword_model}
  paper_section = 'Sec. 4 (keyword spotting, Google Speech Commands)'
  # FedAudio's settings where it states them (10 sampled speakers a round,
  # batch 16, one local epoch); the client rates are FSDD's (same model and
  # front end).
  defaults = base.Defaults(
      model='keyword', partition=base.Partition.NATURAL, num_clients=100,
      clients_per_round=10, dirichlet_alpha=0.1, client_learning_rate=0.05,
      finetune_client_learning_rate=0.01, client_epochs=1,
      client_batch_size=16, rounds=300, eval_every=10,
      prompts_per_label=300, generator='speech', pretrain_epochs=10)

  def load(self, data: base.DataConfig) -> base.Splits:
    self.check_data_config(data)
    clip_set = create_clip_set(
        None if data.use_tfds else data.source(_HELP), self.frontend,
        data.cache_dir, data.use_tfds)
    train, val, test = split_three_way(clip_set, data.test_speakers)
    return base.Splits(
        base.cap_per_class(_example_set(train), data.max_train_per_class),
        _example_set(val), _example_set(test) if len(test) else None)


TASK = SpeechCommandsTask(audio.FrontEndConfig(sample_rate=SAMPLE_RATE,
                                               clip_seconds=1.0))
TASKS = (TASK,)
