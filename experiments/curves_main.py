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
r"""Prints the learning curves of finished (or running) runs as one table.

  python -m experiments.curves_main \
      --run_dirs=/tmp/cifar/fedavg_a05,/tmp/cifar/fedopt_a05 \
      --checkpoints=25,50,100,200 --thresholds=0.5,0.6

Each run directory is a `{root_output_dir}/{experiment_name}` written by
`experiments.federated_main` or `experiments.gptfl_main` (metrics in its
`federated/`). The table (validation accuracy in percent, first crossing of
each threshold as "round (minutes of rounds)") goes to stdout and, with
--output_md, to a file.
"""

from absl import app
from absl import flags

from gptfl_tff import console
from gptfl_tff import io_utils
from gptfl_tff.orchestration import curves

_RUN_DIRS = flags.DEFINE_list('run_dirs', [], 'Run folders to summarize.')
_CHECKPOINTS = flags.DEFINE_list(
    'checkpoints', ['25', '50', '100', '150', '200', '250'],
    'Rounds whose validation accuracy gets a column.')
_THRESHOLDS = flags.DEFINE_list(
    'thresholds', ['0.4', '0.5', '0.6', '0.65', '0.7'],
    'Accuracies (fractions in (0, 1]) whose first crossing gets a column.')
_OUTPUT_MD = flags.DEFINE_string('output_md', None, 'Also write the table.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  if not _RUN_DIRS.value:
    raise app.UsageError('Pass --run_dirs (comma-separated run folders).')
  checkpoints = io_utils.parse_numbers(
      _CHECKPOINTS, int, 'rounds >= 1', lambda c: c >= 1)
  thresholds = io_utils.parse_numbers(
      _THRESHOLDS, float, 'fractions in (0, 1]', lambda t: 0 < t <= 1)
  missing = [d for d in _RUN_DIRS.value if not curves.metrics_path(d)]
  if missing:
    raise app.UsageError(
        f'No metrics.csv in {missing}; pass run folders '
        '({root_output_dir}/{experiment_name}).')
  try:
    summaries = [curves.load(d, checkpoints, thresholds)
                 for d in _RUN_DIRS.value]
  except ValueError as e:
    raise app.UsageError(str(e)) from e
  table = curves.to_markdown(summaries, checkpoints, thresholds)
  print(table, end='')
  if _OUTPUT_MD.value:
    io_utils.atomic_write_text(_OUTPUT_MD.value, table)


if __name__ == '__main__':
  console.run(main)
