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
"""Flags shared by the spoken-digit binaries, and the configs they build."""

import os

from absl import app
from absl import flags

from gptfl_tff import federated
from gptfl_tff import federated_experiment
from gptfl_tff import io_utils
from gptfl_tff.tasks import fsdd

_DATA_DIR = flags.DEFINE_string(
    'data_dir', None,
    'FSDD folder or .zip/.tar archive; defaults to $GPTFL_DATA_DIR.')
_USE_TFDS = flags.DEFINE_bool(
    'use_tfds', False, "Read TFDS 'spoken_digit' (needs network once).")
_CACHE_DIR = flags.DEFINE_string(
    'cache_dir', os.path.join(os.path.expanduser('~'), '.cache', 'gptfl_tff'),
    'Feature cache folder; empty disables the cache.')
_SPLIT = flags.DEFINE_enum_class(
    'split', federated_experiment.Split.INDEX, federated_experiment.Split,
    'index: takes 0-4 are test; speaker: --test_speakers are test.')
_TEST_SPEAKERS = flags.DEFINE_list(
    'test_speakers', [], 'Held-out speakers for --split=speaker.')
_PARTITION = flags.DEFINE_enum_class(
    'partition', federated_experiment.Partition.NATURAL,
    federated_experiment.Partition,
    'natural: clients are speakers; dirichlet: label skew over '
    '--num_clients.')
_CLIENTS_PER_SPEAKER = flags.DEFINE_integer(
    'clients_per_speaker', 1, 'Clients per speaker (natural partition).')
_NUM_CLIENTS = flags.DEFINE_integer(
    'num_clients', 20, 'Clients (dirichlet partition).')
_ALPHA = flags.DEFINE_float(
    'dirichlet_alpha', 0.1, 'Dirichlet concentration (dirichlet partition).')
_MIN_CLIENT_EXAMPLES = flags.DEFINE_integer(
    'min_client_examples', 10, 'Minimum examples per client (dirichlet).')
_EXAMPLES_PER_LABEL = flags.DEFINE_integer(
    'client_examples_per_label', 0,
    'Scarce-data setting: keep at most this many examples of each label per '
    'client (0 keeps all).')
_ALGORITHM = flags.DEFINE_enum_class(
    'algorithm', federated.Algorithm.FEDAVG, federated.Algorithm,
    'fedavg (server SGD) or fedopt (server adam/yogi).')
_SERVER_OPTIMIZER = flags.DEFINE_enum_class(
    'server_optimizer', federated.ServerOptimizer.ADAM,
    federated.ServerOptimizer, 'Server optimizer for fedopt.')
_CLIENT_LR = flags.DEFINE_float(
    'client_learning_rate', 0.05, 'Client SGD learning rate.')
_CLIENT_MOMENTUM = flags.DEFINE_float(
    'client_momentum', 0.9, 'Client SGD momentum (0: plain SGD).')
_SERVER_LR = flags.DEFINE_float(
    'server_learning_rate', 1.0, 'Server lr (1.0 for FedAvg).')
_CLIENT_EPOCHS = flags.DEFINE_integer('client_epochs', 1, 'Local epochs.')
_CLIENT_BATCH_SIZE = flags.DEFINE_integer(
    'client_batch_size', 32, 'Local batch size.')
_ROUNDS = flags.DEFINE_integer('rounds', 30, 'Federated rounds.')
_CLIENTS_PER_ROUND = flags.DEFINE_integer(
    'clients_per_round', 5, 'Clients sampled per round.')
_EVAL_EVERY = flags.DEFINE_integer(
    'eval_every', 1, 'Evaluate on the test split every k rounds.')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of init, partition, sampling.')
_SECURE = flags.DEFINE_bool(
    'secure_aggregation', True,
    'Aggregate updates and metrics with secure sums.')
_ADAPTIVE_CLIPPING = flags.DEFINE_bool(
    'adaptive_clipping', False,
    'With secure aggregation, also clip update norms adaptively (TFF '
    'secure_aggregator clipping=True).')
_INITIAL_MODEL = flags.DEFINE_string(
    'initial_model', None,
    'Saved Keras model to start from (e.g. the pretrained model); unset: '
    'random init.')
_CLIENTS_IN_PARALLEL = flags.DEFINE_integer(
    'clients_in_parallel', -1,
    'Client computations the TFF worker runs at once (<= 0: no limit).')
_ROOT_OUTPUT_DIR = flags.DEFINE_string(
    'root_output_dir', '/tmp/gptfl_tff', 'Root of all run outputs.')




def validate() -> None:
  """Checks the shared flags.

  Raises:
    app.UsageError: On a bad combination, with what to pass instead.
  """
  if _SPLIT.value == federated_experiment.Split.SPEAKER and not (
      _TEST_SPEAKERS.value
  ):
    raise app.UsageError('--split=speaker needs --test_speakers.')
  if not _DATA_DIR.value and not _USE_TFDS.value and not os.environ.get(
      fsdd.DATA_DIR_ENV
  ):
    raise app.UsageError(
        f'No data: pass --data_dir, set ${fsdd.DATA_DIR_ENV}, or --use_tfds.'
    )
  if _ROUNDS.value < 1 or _CLIENTS_PER_ROUND.value < 1:
    raise app.UsageError('--rounds and --clients_per_round must be >= 1.')


def output_dir(experiment_name: str) -> str:
  return os.path.join(_ROOT_OUTPUT_DIR.value, experiment_name)


def write_flags(run_dir: str, *modules: str) -> None:
  """Writes flags.json: the shared flags plus those of `modules`."""
  io_utils.write_flags(run_dir, __name__, *modules)


def experiment_config(
    run_dir: str,
) -> federated_experiment.ExperimentConfig:
  """The federated experiment described by the shared flags."""
  return federated_experiment.ExperimentConfig(
      data_dir=_DATA_DIR.value,
      use_tfds=_USE_TFDS.value,
      cache_dir=_CACHE_DIR.value or None,
      split=_SPLIT.value,
      test_speakers=tuple(_TEST_SPEAKERS.value),
      partition=_PARTITION.value,
      clients_per_speaker=_CLIENTS_PER_SPEAKER.value,
      num_clients=_NUM_CLIENTS.value,
      dirichlet_alpha=_ALPHA.value,
      min_client_examples=_MIN_CLIENT_EXAMPLES.value,
      examples_per_label=_EXAMPLES_PER_LABEL.value,
      process=federated.ProcessConfig(
          algorithm=_ALGORITHM.value,
          client_learning_rate=_CLIENT_LR.value,
          client_momentum=_CLIENT_MOMENTUM.value,
          server_learning_rate=_SERVER_LR.value,
          server_optimizer=_SERVER_OPTIMIZER.value,
          secure=_SECURE.value,
          adaptive_clipping=_ADAPTIVE_CLIPPING.value,
      ),
      client_epochs=_CLIENT_EPOCHS.value,
      client_batch_size=_CLIENT_BATCH_SIZE.value,
      rounds=_ROUNDS.value,
      clients_per_round=_CLIENTS_PER_ROUND.value,
      eval_every=_EVAL_EVERY.value,
      seed=_SEED.value,
      initial_model=_INITIAL_MODEL.value,
      clients_in_parallel=_CLIENTS_IN_PARALLEL.value,
      output_dir=run_dir,
  )
