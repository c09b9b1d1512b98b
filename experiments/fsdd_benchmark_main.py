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
r"""Runs the spoken-digit GPT-FL benchmark and writes its summary.

  python -m experiments.fsdd_benchmark_main \
      --data_dir=../shared/data/fsdd-5speakers.zip --output_dir=/tmp/fsdd_bench

Resumable: rerun the same command after an interruption. Writes
{output_dir}/summary.json and prints it.
"""

import os

from absl import app
from absl import flags

from gptfl_tff import fsdd_benchmark
from gptfl_tff import io_utils

_DATA_DIR = flags.DEFINE_string('data_dir', None, 'FSDD folder or archive.')
_OUTPUT_DIR = flags.DEFINE_string('output_dir', None, 'Benchmark folder.')
_CACHE_DIR = flags.DEFINE_string(
    'cache_dir', os.path.join(os.path.expanduser('~'), '.cache', 'gptfl_tff'),
    'Feature cache folder.')
_SEEDS = flags.DEFINE_list('seeds', ['0', '1', '2'], 'Seeds.')
_SETTINGS = flags.DEFINE_list(
    'settings', ['index', 'unseen_george', 'unseen_nicolas', 'scarce',
                 'skewed'], 'Settings to run.')
_ROUNDS = flags.DEFINE_integer('rounds', 15, 'Round budget of every run.')
_CLIENT_EPOCHS = flags.DEFINE_integer('client_epochs', 2, 'Local epochs.')
_GEN_WORKERS = flags.DEFINE_integer('gen_workers', 2, 'Generation processes.')
_CLIENT_LR = flags.DEFINE_float(
    'client_learning_rate', 0.05, 'Client lr of FL from scratch.')
_FINETUNE_CLIENT_LR = flags.DEFINE_float(
    'finetune_client_learning_rate', 0.01,
    'Client lr of GPT-FL (fine-tuning from the pretrained model).')

_PARAMS = 281_674  # FedAudio keyword model (tests/models_test.py).


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  if not _DATA_DIR.value or not _OUTPUT_DIR.value:
    raise app.UsageError('--data_dir and --output_dir are required.')
  config = fsdd_benchmark.BenchmarkConfig(
      data_dir=_DATA_DIR.value, output_dir=_OUTPUT_DIR.value,
      seeds=tuple(io_utils.parse_numbers(_SEEDS, int, 'integers')),
      settings=tuple(_SETTINGS.value), rounds=_ROUNDS.value,
      client_epochs=_CLIENT_EPOCHS.value, gen_workers=_GEN_WORKERS.value,
      client_learning_rate=_CLIENT_LR.value,
      finetune_client_learning_rate=_FINETUNE_CLIENT_LR.value,
      cache_dir=_CACHE_DIR.value or None)
  for s in config.settings:
    fsdd_benchmark.setting_config(
        s, fsdd_benchmark.E.ExperimentConfig())  # Validates names early.
  fsdd_benchmark.run(config)
  clients = {s: fsdd_benchmark.setting_config(
      s, fsdd_benchmark.E.ExperimentConfig()).clients_per_round
             for s in config.settings}
  summary = fsdd_benchmark.summarize(config, _PARAMS, clients)
  io_utils.atomic_write_json(
      os.path.join(config.output_dir, 'summary.json'), summary)
  table = fsdd_benchmark.format_markdown(summary, config.rounds)
  io_utils.atomic_write_text(
      os.path.join(config.output_dir, 'summary.md'), table)
  print(table)


if __name__ == '__main__':
  app.run(main)
