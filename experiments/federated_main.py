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
r"""Federated training on any task, from random init or a saved model.

  python -m experiments.federated_main \
      --data_dir=../shared/data/fsdd-5speakers.zip --rounds=30 \
      --experiment_name=fedavg
  python -m experiments.federated_main --task=cifar10 \
      --data_dir=../shared/data/cifar10-train.zip --dirichlet_alpha=0.1 \
      --max_minutes=60 --experiment_name=cifar_fedavg_a01

  python -m experiments.federated_main \
      --data_dir=../shared/data/fsdd-5speakers.zip --clients_per_speaker=20 \
      --clients_per_round=100 --target_epsilon=3 --experiment_name=dp_eps3

Writes flags.json and federated/ (metrics.csv, tensorboard/, checkpoints/,
final_model.keras; privacy.json under DP) under
{root_output_dir}/{experiment_name}/. Rerunning the
same command resumes from the last checkpoint. Flags:
experiments/shared_flags.py.
"""

import json
import os

from absl import app
from absl import flags

from experiments import shared_flags
from gptfl_tff import console
from gptfl_tff.finetuning import federated_experiment

flags.adopt_module_key_flags(shared_flags)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  shared_flags.validate()
  folder = shared_flags.run_dir('federated')
  config = shared_flags.experiment_config(os.path.join(folder, 'federated'))
  rows = federated_experiment.run(
      config, redo=shared_flags.redo_from() is not None, progress=True)
  shared_flags.write_flags(folder, config, __name__)
  last = rows[-1]
  report = os.path.join(config.output_dir, federated_experiment.PRIVACY_FILE)
  if config.process.dp is not None and os.path.exists(report):
    with open(report, encoding='utf-8') as f:
      spent = json.load(f)
    print(f'User-level DP: epsilon {spent["epsilon"]:.2f} at delta '
          f'{spent["delta"]:g} ({spent["accountant"]}; noise multiplier '
          f'{spent["noise_multiplier"]:.3f}, {spent["sampling"]}).')
  console.print_summary(
      f'{config.process.algorithm.value} on {config.task}, {last["round"]} '
      f'rounds ({folder})', ['split', 'loss', 'accuracy'],
      [[s, last[f'{s}_loss'], last[f'{s}_accuracy']] for s in ('val', 'test')
       if last[f'{s}_accuracy'] is not None])


if __name__ == '__main__':
  console.run(main)
