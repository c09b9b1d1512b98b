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
"""The task interface: what a dataset supplies to the GPT-FL chain.

A task is one module under `gptfl_tff/tasks/` holding one `Task` object. It
supplies, for every step of GPT-FL (Sec. 3):

  * label names (what clients feed label discovery, Sec. 3.1);
  * real data from a folder, an archive or TFDS, as train / validation /
    test splits (validation is carved from training data and is what
    hyper-parameters are chosen on; test is only reported);
  * the default client partition (natural groups such as speakers, or
    Dirichlet label skew, Sec. 4.1);
  * the feature front end (model input) and the downstream models;
  * the modality's prompt builder and default generator (Sec. 3.2);
  * how to pretrain on the modality's synthetic records (Sec. 3.3);
  * default FL hyper-parameters (Sec. 4.1 and the authors' code).

`AudioTask` and `ImageTask` implement the modality parts; a dataset module
subclasses one and implements `load`.
"""

import abc
import dataclasses
import enum
import os
from typing import Any, Callable, Optional, Sequence

import numpy as np

from gptfl_tff import errors
from gptfl_tff.prompting import prompts as prompts_lib

DATA_DIR_ENV = 'GPTFL_DATA_DIR'
_HELP = (f'Pass --data_dir=PATH, set ${DATA_DIR_ENV}, or pass --use_tfds '
         'where TFDS can download the dataset.')


class DataError(errors.UserError, ValueError):
  """Missing or malformed task data; the message says what to do."""


class Modality(enum.Enum):
  AUDIO = 'audio'
  IMAGE = 'image'


class Partition(enum.Enum):
  NATURAL = 'natural'      # clients are natural groups (speakers)
  DIRICHLET = 'dirichlet'  # label skew over num_clients (Hsu et al. 2019)


@dataclasses.dataclass(frozen=True)
class DataConfig:
  """Where real data comes from and how it is split.

  Attributes:
    data_dir: Folder or archive of the task's files; `None` falls back to
      `$GPTFL_DATA_DIR`.
    use_tfds: Read the task's TFDS dataset instead (needs network once).
    cache_dir: Feature cache folder (`None`: no cache).
    test_speakers: Hold out these natural groups (speakers) as the test set
      instead of the task's standard test split.
    max_train_per_class: Keep at most this many training examples of each
      class (0: all).
    seed: Seed of any seeded carve-out.
  """

  data_dir: Optional[str] = None
  use_tfds: bool = False
  cache_dir: Optional[str] = None
  test_speakers: tuple[str, ...] = ()
  max_train_per_class: int = 0
  seed: int = 0

  def __post_init__(self):
    if self.max_train_per_class < 0:
      raise DataError(
          f'max_train_per_class must be >= 0, got {self.max_train_per_class}'
          '; pass --max_train_per_class=0 to keep every example.')

  def source(self, help_text: str = _HELP) -> str:
    """The data folder or archive: `data_dir` or `$GPTFL_DATA_DIR`.

    Raises:
      DataError: If neither is set, or the path does not exist.
    """
    source = self.data_dir or os.environ.get(DATA_DIR_ENV, '')
    if not source:
      raise DataError(f'No data given. {help_text}')
    if not os.path.exists(source):
      raise DataError(f'Data not found at {source!r}. {help_text}')
    return source


@dataclasses.dataclass
class ExampleSet:
  """Examples of one split.

  Attributes:
    features: `[n, *feature_shape]` in the task's `feature_dtype` (uint8 for
      images, float32 model input for audio).
    labels: int32 `[n]` class ids.
    groups: str `[n]`, each example's natural group (speaker); '' if none.
  """

  features: np.ndarray
  labels: np.ndarray
  groups: np.ndarray

  def __post_init__(self):
    if not len(self.features) == len(self.labels) == len(self.groups):
      raise ValueError(
          f'{len(self.features)} features, {len(self.labels)} labels and '
          f'{len(self.groups)} groups; need one each per example.')

  def __len__(self) -> int:
    return len(self.labels)

  def subset(self, idx: np.ndarray) -> 'ExampleSet':
    return ExampleSet(self.features[idx], self.labels[idx], self.groups[idx])


@dataclasses.dataclass
class Splits:
  """Train, validation (from training data) and test (may be absent)."""

  train: ExampleSet
  validation: ExampleSet
  test: Optional[ExampleSet]

  def named(self) -> dict[str, ExampleSet]:
    """`{'val': ..., 'test': ...}`: the evaluation splits that exist."""
    out = {'val': self.validation}
    if self.test is not None:
      out['test'] = self.test
    return out


def cap_per_class(data: ExampleSet, per_class: int) -> ExampleSet:
  """The first `per_class` examples of each class (all if 0)."""
  if per_class <= 0:
    return data
  keep = np.concatenate([
      np.flatnonzero(data.labels == c)[:per_class]
      for c in np.unique(data.labels)])
  return data.subset(np.sort(keep))


@dataclasses.dataclass(frozen=True)
class Defaults:
  """A task's default settings (each binary flag left unset takes these).

  Attributes:
    model: Downstream model name (a key of `Task.models`).
    partition: Default client partition.
    num_clients: Clients of a Dirichlet partition.
    clients_per_round: Clients sampled per round.
    dirichlet_alpha: Dirichlet concentration.
    client_learning_rate: Client SGD rate from random init.
    finetune_client_learning_rate: Client SGD rate when fine-tuning a
      pretrained model (GPT-FL), chosen on validation.
    client_epochs: Local epochs.
    client_batch_size: Local batch size.
    rounds: Federated rounds.
    eval_every: Evaluate every k rounds.
    prompts_per_label: Synthetic examples per label.
    generator: Default generator backend (`generation.Backend` value).
    pretrain_epochs: Centralized pretraining epochs.
    min_client_examples: Dirichlet partition: fewest examples per client.
  """

  model: str
  partition: Partition
  num_clients: int
  clients_per_round: int
  dirichlet_alpha: float
  client_learning_rate: float
  finetune_client_learning_rate: float
  client_epochs: int
  client_batch_size: int
  rounds: int
  eval_every: int
  prompts_per_label: int
  generator: str
  pretrain_epochs: int
  min_client_examples: int = 10


class Task(abc.ABC):
  """One dataset of the GPT-FL experiments.

  Attributes:
    name: Task name (`--task`).
    modality: Audio or image.
    label_names: Class names in label order.
    feature_shape: Shape of one example's features.
    feature_dtype: `np.float32` or `np.uint8` (images, 4x smaller).
    models: `name -> builder(input_shape, num_classes, seed=)`.
    defaults: Default settings.
    paper_section: Where the paper uses the dataset.
  """

  name: str
  modality: Modality
  label_names: tuple[str, ...]
  feature_shape: tuple[int, ...]
  feature_dtype: type
  models: dict[str, Callable[..., Any]]
  defaults: Defaults
  paper_section: str = ''

  @property
  def num_classes(self) -> int:
    return len(self.label_names)

  @property
  def feature_settings(self) -> Any:
    """What turns a raw example into features (part of stage fingerprints)."""
    return {'shape': self.feature_shape}

  @abc.abstractmethod
  def load(self, data: DataConfig) -> Splits:
    """Loads real data as train / validation / test.

    Raises:
      DataError: On missing or malformed data, naming the fix.
    """

  def label_id(self, name: str) -> int:
    """The class id of a label name.

    Raises:
      DataError: If the name is not one of the task's labels.
    """
    try:
      return self.label_names.index(name)
    except ValueError:
      raise DataError(
          f'Unknown label {name!r} for task {self.name}; its labels are '
          f'{list(self.label_names)[:20]}.') from None

  def create_model(self, model: str, seed: Optional[int] = None):
    """Builds a downstream Keras model (logits).

    Raises:
      DataError: For a model name the task does not offer.
    """
    if model not in self.models:
      raise DataError(
          f'Task {self.name} has no model {model!r}; pass --model= one of '
          f'{sorted(self.models)}.')
    return self.models[model](self.feature_shape, self.num_classes,
                              seed=seed)

  @abc.abstractmethod
  def model_input(self, features: np.ndarray) -> np.ndarray:
    """Stored features -> float32 model input."""

  @abc.abstractmethod
  def create_prompts(self, labels: Sequence[str], per_label: int, seed: int,
                     voice_mix: prompts_lib.VoiceMix,
                     expander: Optional[prompts_lib.Expander] = None
                     ) -> list:
    """`per_label` prompts per discovered label (Sec. 3.2).

    Args:
      labels: Discovered label names.
      per_label: Prompts per label.
      seed: Seed of every draw.
      voice_mix: Speech prompts' voices (audio tasks).
      expander: Image tasks' text expander (`None`: templates).

    Returns:
      The prompts.
    """

  @abc.abstractmethod
  def pretrain(self, synthetic_dir: str, keras_model_fn, config,
               output_dir: str, progress: bool = False) -> list:
    """Centralized pretraining on this modality's records (Sec. 3.3)."""

  def check_data_config(self, data: DataConfig) -> None:
    """Refuses settings this task cannot honour.

    Raises:
      DataError: Naming the flag.
    """
    if data.test_speakers and not self.has_groups:
      raise DataError(
          f'Task {self.name} has no speakers; drop --test_speakers.')

  has_groups: bool = False
  # What its prompts are: 'speech' (label words spoken in drawn voices),
  # 'image' or 'sound' (text prompts for a text-to-image/audio model).
  prompt_kind: str = 'image'


class AudioTask(Task):
  """Speech tasks: log-mel features, speech prompts, audio pretraining."""

  modality = Modality.AUDIO
  feature_dtype = np.float32
  has_groups = True
  prompt_kind = 'speech'

  def __init__(self, frontend):
    self.frontend = frontend
    self.feature_shape = frontend.feature_shape

  @property
  def feature_settings(self) -> Any:
    return self.frontend

  def model_input(self, features):
    return features

  def create_prompts(self, labels, per_label, seed, voice_mix, expander=None):
    del expander  # Speech prompts are the label words.
    from gptfl_tff.generators import speech  # pylint: disable=g-import-not-at-top
    mix = speech.installed_voice_mix(voice_mix)
    return prompts_lib.create_speech_prompts(
        labels, per_label, seed, mix,
        label_ids=[self.label_id(n) for n in labels])

  def pretrain(self, synthetic_dir, keras_model_fn, config, output_dir,
               progress=False):
    from gptfl_tff.pretraining import pretrain as pretrain_lib  # pylint: disable=g-import-not-at-top
    return pretrain_lib.run(synthetic_dir, keras_model_fn, config,
                            output_dir, frontend=self.frontend,
                            progress=progress)


class ImageTask(Task):
  """Image tasks: uint8 images, image prompts, keras-cv pretraining."""

  modality = Modality.IMAGE
  feature_dtype = np.uint8

  def __init__(self, image_size: int):
    self.image_size = image_size
    self.feature_shape = (image_size, image_size, 3)

  def model_input(self, features):
    from gptfl_tff import models  # pylint: disable=g-import-not-at-top
    return models.image_model_input(features).numpy()

  def create_prompts(self, labels, per_label, seed, voice_mix, expander=None):
    del voice_mix  # Speech only.
    return prompts_lib.create_image_prompts(
        labels, per_label, seed, expander=expander,
        label_ids=[self.label_id(n) for n in labels])

  def pretrain(self, synthetic_dir, keras_model_fn, config, output_dir,
               progress=False):
    from gptfl_tff.pretraining import pretrain as pretrain_lib  # pylint: disable=g-import-not-at-top
    return pretrain_lib.run_images(synthetic_dir, self.image_size,
                                   keras_model_fn, config, output_dir,
                                   progress=progress)
