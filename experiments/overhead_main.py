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

Workload: the task's training split dealt to 5, 100 and 1,000 equal clients
(`--overhead_clients`), all per round, the task's local epochs and batch
size. Writes overhead.json under {root_output_dir}/{experiment_name}/ and
prints a table: each TFF variant and floor, its ratio to the per-step floor,
the milliseconds per client above it, and the worker's CPU seconds; then the
peak memory of this process and of the TFF worker after each client count.
"""

import dataclasses
import os
import statistics

from absl import app
from absl import flags

from experiments import shared_flags
from gptfl_tff import console
from gptfl_tff import io_utils
from gptfl_tff.orchestration import overhead

flags.adopt_module_key_flags(shared_flags)

_OVERHEAD_ROUNDS = flags.DEFINE_integer(
    'overhead_rounds', 5, 'Measured rounds of each variant (median).')
_OVERHEAD_CLIENTS = flags.DEFINE_list(
    'overhead_clients', ['5', '100', '1000'],
    'Clients per round, one measurement each; the training split is dealt '
    'at random to that many equal clients.')
_OVERHEAD_WORKERS = flags.DEFINE_list(
    'overhead_workers', ['1'],
    'Local TFF workers to split each round across, one measurement each '
    '(e.g. 1,2; more than one: runtime.WorkerPool).')
_OVERHEAD_BEFORE = flags.DEFINE_boolean(
    'overhead_before', True,
    'Also time the earlier round forms: as written, with the iterator and '
    "with TFF's default dataset-reduce client loop (before/after).")


def _counts(holder: flags.FlagHolder, example: str) -> list[int]:
  try:
    counts = [int(v) for v in holder.value]
  except ValueError:
    counts = []
  if not counts or min(counts) < 1:
    raise app.UsageError(
        f'--{holder.name} must be positive integers, e.g. {example}; got '
        f'{",".join(holder.value)}.')
  return counts


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  if _OVERHEAD_ROUNDS.value < 1:
    raise app.UsageError('--overhead_rounds must be >= 1.')
  counts = _counts(_OVERHEAD_CLIENTS, '5,100')
  worker_counts = _counts(_OVERHEAD_WORKERS, '1,2')
  shared_flags.validate()
  folder = shared_flags.run_dir('overhead')
  config = shared_flags.experiment_config(folder)
  results = overhead.run(
      shared_flags.task(), config, counts, _OVERHEAD_ROUNDS.value,
      _OVERHEAD_BEFORE.value, progress=True, worker_counts=worker_counts)
  rows = []
  for (n, w), r in results.items():
    for name in r.tff_variants() + [
        f for f in overhead.FLOORS if f in r.seconds]:
      cpu = r.worker_cpu_seconds.get(name)
      plain = name.replace('secure', 'plain')  # Same loop, plain mean.
      rows.append([
          n, w, name, r.median(name), r.ratio(name),
          r.ratio(name, overhead.STEP_SERIAL),
          r.ms_per_client_above(name),
          r.median(name) / r.median(plain)
          if name.startswith('secure') and plain in r.seconds else '',
          statistics.median(cpu) if cpu else ''])
  console.print_summary(
      f'TFF round time vs the per-step floor (median of '
      f'{_OVERHEAD_ROUNDS.value} rounds, '
      f'{next(iter(results.values())).threads} threads)',
      ['clients', 'workers', 'variant', 'median s', '/ step floor (parallel)',
       '/ step floor (serial)', 'ms/client above', '/ plain',
       'worker CPU s'], rows)
  console.print_summary(
      'Peak resident memory after each measurement (MiB)',
      ['clients', 'workers', 'driver', 'TFF worker (largest)'],
      [[n, w, r.driver_peak_mb, r.worker_peak_mb]
       for (n, w), r in results.items()])
  io_utils.atomic_write_json(
      os.path.join(folder, 'overhead.json'),
      {f'{n}/{w}': dataclasses.asdict(r) for (n, w), r in results.items()})
  shared_flags.write_flags(folder, config, __name__)


if __name__ == '__main__':
  console.run(main)
