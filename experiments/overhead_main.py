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
r"""Benchmark: TFF round time / plain local-training time (FL overhead).

  python -m experiments.overhead_main \
      --data_dir=../shared/data/fsdd-5speakers.zip

Workload: the task's training split and partition (FSDD: one client per
speaker, all per round), its local epochs and batch size. Writes
overhead.json under {root_output_dir}/{experiment_name}/ and prints a
table.
"""

import dataclasses
import os
import tempfile

from absl import app
from absl import flags

from experiments import shared_flags
from gptfl_tff import console
from gptfl_tff import federated
from gptfl_tff import federated_experiment
from gptfl_tff import io_utils
from gptfl_tff.orchestration import overhead

flags.adopt_module_key_flags(shared_flags)

_OVERHEAD_ROUNDS = flags.DEFINE_integer(
    'overhead_rounds', 5, 'Measured rounds of each variant (median).')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  if _OVERHEAD_ROUNDS.value < 1:
    raise app.UsageError('--overhead_rounds must be >= 1.')
  shared_flags.validate()
  folder = shared_flags.run_dir('overhead')
  config = shared_flags.experiment_config(folder)
  task = shared_flags.task()
  train = task.load(config.data).train
  parts = federated_experiment.create_partition(train, config)
  shape = train.features.shape[1:]
  keras_model_fn = lambda: task.create_model(config.model, seed=0)
  results = {}
  with tempfile.TemporaryDirectory() as tmp:
    store = federated.ClientStore(tmp, shape, task.feature_dtype)
    for c, idx in parts.items():
      store.write(c, train.features[idx], train.labels[idx])
    for secure in (False, True):
      r = overhead.measure(
          keras_model_fn, store, federated.ProcessConfig(secure=secure),
          config.client_epochs, config.client_batch_size,
          _OVERHEAD_ROUNDS.value, config.clients_in_parallel)
      name = 'secure' if secure else 'plain'
      results[name] = dict(
          dataclasses.asdict(r), tff_median=r.tff_median,
          serial_floor_median=r.serial_floor_median,
          parallel_floor_median=r.parallel_floor_median,
          tff_python_datasets_median=r.tff_python_datasets_median,
          serial_ratio=r.serial_ratio, parallel_ratio=r.parallel_ratio,
          python_datasets_parallel_ratio=r.python_datasets_parallel_ratio)
  console.print_summary(
      f'TFF round time vs the compute floor ({len(parts)} clients, median '
      f'of {_OVERHEAD_ROUNDS.value} rounds)',
      ['aggregation', 'TFF s', 'serial floor s', 'ratio',
       'parallel floor s', 'ratio', 'TFF, Python datasets s', 'ratio'],
      [[name, r['tff_median'], r['serial_floor_median'], r['serial_ratio'],
        r['parallel_floor_median'], r['parallel_ratio'],
        r['tff_python_datasets_median'],
        r['python_datasets_parallel_ratio']] for name, r in results.items()])
  io_utils.atomic_write_json(os.path.join(folder, 'overhead.json'), results)
  shared_flags.write_flags(folder, config, __name__)


if __name__ == '__main__':
  console.run(main)
