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
"""ESC-50: GPT-FL's environmental sound classification task (Sec. 4).

2,000 five-second clips (44.1 kHz mono) of 50 classes, 40 a class, in five
folds (Piczak 2015). The release (a folder, or its `.zip` such as
`ESC-50-master.zip`; a tar also works) holds `meta/esc50.csv` (columns
filename, fold, target, category, esc10, src_file, take) and
`audio/<filename>`. Labels are the categories, with id `target`. ESC-50 is
not in TFDS.

Splits (`TASK.load`) are by fold, which keeps the clips cut from one
recording together: fold 5 is the test set, fold 4 validation, folds 1-3
training (1,200 clips). Another task, `Esc50Task(test_fold=,
validation_fold=)`, holds out other folds.

Clients: ESC-50 has no natural groups; as in Sec. 4.1 (following FedAudio)
the default partition is Dirichlet(0.1) label skew over 100 clients
(`partition.dirichlet`). Clients then hold 12 clips on average and many
only a few: no draw gives each of them the other tasks' 10 examples, so
the task's default `--min_client_examples` is 2 (`MIN_CLIENT_EXAMPLES`).

Features: clips are resampled to 16 kHz (the rate AudioLDM, the paper's
sound generator, writes) and kept whole (5 s); log-mel with FedAudio's
n_fft 1024 and 128 mel bins but a 20 ms hop: 247 x 128 a clip, 250 MB for
the dataset (a 10 ms hop would double it). The model is FedAudio's, as
for Speech Commands (Sec. 4: "the same model for these two datasets").

Prompts describe sounds rather than words to speak: each label, underscores
as spaces, fills the templates of the GPT-FL authors' ESC-50 generation
script ('a sound of {}', '{} in a studio', ...), with a guidance scale
drawn from 1-5 and a seed per prompt (their text-to-audio settings); the
prompts' kind is `PROMPT_KIND`.
"""

import csv
import dataclasses
import io
from typing import Optional

import numpy as np

from gptfl_tff import audio
from gptfl_tff import models
from gptfl_tff.prompting import prompts as prompts_lib
from gptfl_tff.tasks import base
from gptfl_tff.tasks import fsdd

# Category names by `target`.
LABEL_NAMES = (
    'dog', 'rooster', 'pig', 'cow', 'frog', 'cat', 'hen', 'insects', 'sheep',
    'crow', 'rain', 'sea_waves', 'crackling_fire', 'crickets',
    'chirping_birds', 'water_drops', 'wind', 'pouring_water', 'toilet_flush',
    'thunderstorm', 'crying_baby', 'sneezing', 'clapping', 'breathing',
    'coughing', 'footsteps', 'laughing', 'brushing_teeth', 'snoring',
    'drinking_sipping', 'door_wood_knock', 'mouse_click', 'keyboard_typing',
    'door_wood_creaks', 'can_opening', 'washing_machine', 'vacuum_cleaner',
    'clock_alarm', 'clock_tick', 'glass_breaking', 'helicopter', 'chainsaw',
    'siren', 'car_horn', 'engine', 'train', 'church_bells', 'airplane',
    'fireworks', 'hand_saw',
)
NUM_FOLDS = 5
TEST_FOLD = 5
VALIDATION_FOLD = 4
SAMPLE_RATE = 16000
CLIP_SECONDS = 5.0
MIN_CLIENT_EXAMPLES = 2
METADATA = 'meta/esc50.csv'
AUDIO_FOLDER = 'audio'
COLUMNS = ('filename', 'fold', 'target', 'category')
CHUNK_SIZE = 256
# The GPT-FL authors' ESC-50 prompts (class prompt and recording domains).
SOUND_TEMPLATES = (
    'a sound of {}',
    '{} in a studio',
    '{} in the field',
    '{} at home',
    '{} in an office',
)
PROMPT_KIND = 'sound'

_HELP = (
    'Pass --data_dir=PATH (the ESC-50 release: a folder or .zip holding '
    f'{METADATA} and {AUDIO_FOLDER}/*.wav, e.g. ESC-50-master.zip) or set '
    f'the environment variable {base.DATA_DIR_ENV}; ESC-50 is not in TFDS.'
)

DataError = base.DataError


@dataclasses.dataclass(frozen=True)
class Row:
  """One clip's row of `meta/esc50.csv`."""

  filename: str
  fold: int
  target: int


def _field(row: dict[str, str], column: str, where: str) -> int:
  try:
    return int(row[column])
  except (TypeError, ValueError):
    raise DataError(
        f'{where}: {column} {row[column]!r} is not an integer; restore the '
        f"release's {METADATA}.") from None


def parse_metadata(text: bytes, name: str) -> dict[str, Row]:
  """`filename -> Row` from the bytes of `meta/esc50.csv`.

  Args:
    text: The file's bytes.
    name: How to name the file in errors.

  Returns:
    Every row, by file name.

  Raises:
    DataError: If a column is missing, or a row's fold, target or category
      is not ESC-50's.
  """
  reader = csv.DictReader(io.StringIO(text.decode('utf-8')))
  missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
  if missing:
    raise DataError(
        f'{name}: no column(s) {missing}; ESC-50\'s {METADATA} has '
        f"{', '.join(COLUMNS)}, esc10, src_file, take. Restore it.")
  rows = {}
  for number, row in enumerate(reader, 2):
    where = f'{name}, line {number}'
    fold, target = _field(row, 'fold', where), _field(row, 'target', where)
    if not 1 <= fold <= NUM_FOLDS:
      raise DataError(f'{where}: fold {fold} is not 1-{NUM_FOLDS}.')
    if not 0 <= target < len(LABEL_NAMES):
      raise DataError(
          f'{where}: target {target} is not 0-{len(LABEL_NAMES) - 1}.')
    if row['category'] != LABEL_NAMES[target]:
      raise DataError(
          f'{where}: target {target} is {LABEL_NAMES[target]!r} in ESC-50, '
          f'not {row["category"]!r}; restore the release\'s {METADATA}.')
    if row['filename'] in rows:
      raise DataError(f'{where}: {row["filename"]} is listed twice.')
    rows[row['filename']] = Row(row['filename'], fold, target)
  if not rows:
    raise DataError(f'{name} lists no clips. {_HELP}')
  return rows


def read_metadata(source: str) -> tuple[str, dict[str, Row]]:
  """Finds and parses `meta/esc50.csv` in a folder or archive.

  Args:
    source: Folder or archive (see `fsdd.iter_files`).

  Returns:
    `(root, rows)`: the folder inside `source` that holds `meta/` and
    `audio/` ('' at the top, e.g. 'ESC-50-master' in the release zip) and
    the rows by file name.

  Raises:
    DataError: If there is no (or more than one) `meta/esc50.csv`, or it
      is malformed.
  """
  found = []
  for name, read in fsdd.iter_files(source, ('.csv',), 'ESC-50', _HELP):
    path = fsdd.member_path(name, source)
    if path == METADATA or path.endswith('/' + METADATA):
      found.append((path[:-len(METADATA)].rstrip('/'), name, read()))
  if not found:
    raise DataError(f'No {METADATA} in {source!r}. {_HELP}')
  if len(found) > 1:
    raise DataError(
        f'{len(found)} copies of {METADATA} in {source!r} '
        f'({[n for _, n, _ in found]}); pass --data_dir= one release.')
  root, name, text = found[0]
  return root, parse_metadata(text, name)


@dataclasses.dataclass
class ClipSet:
  """Log-mel features of ESC-50 clips, with their metadata.

  Attributes:
    features: float32 `[n, frames, mel_bins]`.
    labels: int32 `[n]`, the `target`s.
    folds: int32 `[n]`, 1-5.
    filenames: str `[n]`.
  """

  features: np.ndarray
  labels: np.ndarray
  folds: np.ndarray
  filenames: np.ndarray

  def __len__(self) -> int:
    return len(self.labels)

  def subset(self, idx: np.ndarray) -> 'ClipSet':
    return ClipSet(self.features[idx], self.labels[idx], self.folds[idx],
                   self.filenames[idx])


def read_clips(source: str, config: audio.FrontEndConfig) -> ClipSet:
  """Reads, decodes and featurises every clip `meta/esc50.csv` lists.

  A folder's or zip's clips are read in name order, so their features are
  the same bits wherever they lie (the front end's batches follow the read
  order).

  Args:
    source: Folder or archive (see `fsdd.iter_files`).
    config: Front-end settings (any sample rate is resampled to its rate).

  Returns:
    The clips, sorted by file name.

  Raises:
    DataError: If the metadata is missing or malformed, a clip in `audio/`
      is not listed, or a listed clip is missing.
    audio.AudioError: If a clip is not a readable 16-bit WAV file.
  """
  root, rows = read_metadata(source)
  folder = f'{root}/{AUDIO_FOLDER}/' if root else f'{AUDIO_FOLDER}/'
  found = []

  def decoded():
    for name, read in fsdd.iter_files(source, ('.wav',), 'ESC-50', _HELP,
                                      ordered=True):
      path = fsdd.member_path(name, source)
      file_name = path[len(folder):]
      if not path.startswith(folder) or '/' in file_name:
        continue
      if file_name not in rows:
        raise DataError(
            f'{name}: not listed in {METADATA}; add its row or remove it.')
      found.append(rows[file_name])
      yield audio.decode_wav(read(), name)

  features = fsdd.features_in_chunks(decoded(), config, CHUNK_SIZE)
  missing = sorted(set(rows) - {r.filename for r in found})
  if missing:
    raise DataError(
        f'{len(missing)} clip(s) listed in {METADATA} are not in '
        f'{folder} of {source!r} (e.g. {missing[:3]}); restore them or '
        'delete their rows.')
  order = np.argsort([r.filename for r in found], kind='stable')
  return ClipSet(
      features=features,
      labels=np.array([r.target for r in found], np.int32),
      folds=np.array([r.fold for r in found], np.int32),
      filenames=np.array([r.filename for r in found]),
  ).subset(order)


def create_clip_set(
    source: str, config: audio.FrontEndConfig,
    cache_dir: Optional[str] = None,
) -> ClipSet:
  """`read_clips`, cached in `cache_dir` if given.

  Args:
    source: Folder or archive (see `fsdd.iter_files`).
    config: Front-end settings.
    cache_dir: If set, features are cached there (keyed by the source's
      files' names, sizes and times, and the front-end settings).

  Returns:
    A `ClipSet` of every listed clip.

  Raises:
    DataError: On missing or malformed data (see `read_clips`).
  """
  return fsdd.cached_features(
      ClipSet, lambda: read_clips(source, config), source, config,
      cache_dir, 'esc50', 'ESC-50', ('.wav', '.csv'))


def split_by_fold(
    clip_set: ClipSet, test_fold: int = TEST_FOLD,
    validation_fold: int = VALIDATION_FOLD,
) -> tuple[ClipSet, ClipSet, ClipSet]:
  """`(train, validation, test)`: the two folds held out, the rest.

  Raises:
    DataError: If a split would be empty.
  """
  test = clip_set.folds == test_fold
  val = clip_set.folds == validation_fold
  train = ~test & ~val
  if not (train.any() and val.any() and test.any()):
    raise DataError(
        f'The clips leave an empty split: test is fold {test_fold}, '
        f'validation fold {validation_fold}, training the others; provide '
        f'clips of every fold (the release has folds 1-{NUM_FOLDS}).')
  return (clip_set.subset(np.flatnonzero(train)),
          clip_set.subset(np.flatnonzero(val)),
          clip_set.subset(np.flatnonzero(test)))


@dataclasses.dataclass(frozen=True)
class SoundTemplateExpander:
  """Fills a label, underscores as spaces, into sound templates."""

  templates: tuple[str, ...] = SOUND_TEMPLATES

  def expand(self, label: str, count: int,
             rng: np.random.Generator) -> list[str]:
    words = label.replace('_', ' ')
    return [t.format(words)
            for t in prompts_lib.cycle(self.templates, count, rng)]


def _example_set(clip_set: ClipSet) -> base.ExampleSet:
  return base.ExampleSet(clip_set.features, clip_set.labels,
                         np.full(len(clip_set), '', dtype='<U1'))


class Esc50Task(base.AudioTask):
  """ESC-50: 50 sound classes, Dirichlet clients, text-to-audio prompts."""

  name = 'esc50'
  label_names = LABEL_NAMES
  sample_rate = SAMPLE_RATE
  has_groups = False
  prompt_kind = PROMPT_KIND
  models = {'keyword': models.create_keyword_model}
  paper_section = 'Sec. 4 (environmental sound classification, ESC-50)'
  defaults = base.Defaults(
      model='keyword', partition=base.Partition.DIRICHLET, num_clients=100,
      clients_per_round=10, dirichlet_alpha=0.1, client_learning_rate=0.05,
      finetune_client_learning_rate=0.01, client_epochs=1,
      client_batch_size=16, rounds=200, eval_every=5, prompts_per_label=40,
      generator='audioldm', pretrain_epochs=10,
      min_client_examples=MIN_CLIENT_EXAMPLES)

  def __init__(self, frontend: audio.FrontEndConfig,
               test_fold: int = TEST_FOLD,
               validation_fold: int = VALIDATION_FOLD):
    super().__init__(frontend)
    if (test_fold == validation_fold or
        not {test_fold, validation_fold} <= set(range(1, NUM_FOLDS + 1))):
      raise ValueError(
          f'test_fold {test_fold} and validation_fold {validation_fold} '
          f'must be two different folds of 1-{NUM_FOLDS}.')
    self.test_fold = test_fold
    self.validation_fold = validation_fold

  def load(self, data: base.DataConfig) -> base.Splits:
    self.check_data_config(data)
    if data.use_tfds:
      raise DataError(f'ESC-50 is not in TFDS; drop --use_tfds. {_HELP}')
    clip_set = create_clip_set(data.source(_HELP), self.frontend,
                               data.cache_dir)
    train, val, test = split_by_fold(clip_set, self.test_fold,
                                     self.validation_fold)
    return base.Splits(
        base.cap_per_class(_example_set(train), data.max_train_per_class),
        _example_set(val), _example_set(test))

  def create_prompts(self, labels, per_label, seed, voice_mix, expander=None):
    """Sound descriptions for a text-to-audio model (see module docstring).

    Args:
      labels: Discovered label names.
      per_label: Prompts per label.
      seed: Seed of every draw.
      voice_mix: Unused (no speech).
      expander: Text expander (`None`: `SoundTemplateExpander`).

    Returns:
      The prompts, of kind `PROMPT_KIND`.
    """
    del voice_mix  # Sounds, not speech.
    created = prompts_lib.create_image_prompts(
        labels, per_label, seed, expander=expander or SoundTemplateExpander(),
        label_ids=[self.label_id(n) for n in labels])
    return [dataclasses.replace(p, kind=PROMPT_KIND) for p in created]


# FedAudio's front end, unchanged: a sound's long-term spectrum is part of
# what it is (a hum, rain), so no band-mean normalisation and no floor.
TASK = Esc50Task(audio.FrontEndConfig(
    sample_rate=SAMPLE_RATE, clip_seconds=CLIP_SECONDS, hop_length=320,
    lower_edge_hz=20.0, floor_db=None,
    normalization=audio.Normalization.UTTERANCE))
TASKS = (TASK,)
