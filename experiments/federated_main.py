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
r"""Federated fine-tuning on spoken digits (FedAvg / FedOpt, secure agg).

  python -m experiments.federated_main \
      --data_dir=../shared/data/fsdd-5speakers.zip --rounds=30 \
      --root_output_dir=/tmp/gptfl --experiment_name=fedavg

Writes flags.json, metrics.csv, tensorboard/ and final_model.keras under
{root_output_dir}/{experiment_name}/. See experiments/fsdd_flags.py for the
flags.
"""

from absl import app
from absl import flags

from experiments import fsdd_flags
from gptfl_tff import federated_experiment

_EXPERIMENT_NAME = flags.DEFINE_string(
    'experiment_name', 'federated', 'Subfolder of this run.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  fsdd_flags.validate()
  run_dir = fsdd_flags.output_dir(_EXPERIMENT_NAME.value)
  fsdd_flags.write_flags(run_dir, __name__)
  federated_experiment.run(fsdd_flags.experiment_config(run_dir))


if __name__ == '__main__':
  app.run(main)
