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
r"""Exports the fine-tuning round for a production FL stack.

  python -m experiments.export_main --task=fsdd --algorithm=fedavg \
      --initial_model=/tmp/run/pretrain/model.keras --experiment_name=export

Writes under {root_output_dir}/{experiment_name}/export/ the round (the
learning process's `next`, with the algorithm and aggregators the flags
choose) as MapReduceForm and DistributeAggregateForm, its type and the
initial server state (`forms.export_round`), after the secure-aggregation
audit (skipped with --nosecure_aggregation, which exports a plain round);
`forms.load_round` reads them back. Flags:
experiments/shared_flags.py.
"""

import os

from absl import app
from absl import flags

from experiments import shared_flags
from gptfl_tff import console
from gptfl_tff.finetuning import federated_experiment
from gptfl_tff.finetuning import forms

flags.adopt_module_key_flags(shared_flags)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  shared_flags.validate()
  folder = shared_flags.run_dir('export')
  config = shared_flags.experiment_config(folder)
  out = os.path.join(folder, 'export')
  compiled = federated_experiment.export(config, out)
  shared_flags.write_flags(folder, config, __name__)
  console.print_summary(
      f'{config.process.algorithm.value} round for {config.task} ({out})',
      ['file', 'bytes'],
      [[name, os.path.getsize(os.path.join(out, name))]
       for name in (forms.EXPORT_MRF, forms.EXPORT_DAF, forms.EXPORT_TYPE,
                    forms.EXPORT_STATE)]
      + [['client-to-server intrinsics', ', '.join(sorted(
          forms.aggregation_intrinsics(
              compiled.distribute_aggregate_form)))]])


if __name__ == '__main__':
  console.run(main)
