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
r"""Draws PNG plots of finished (or running) federated runs.

  python -m experiments.plots_main \
      --run_dirs=/tmp/b/seed0/standard/gptfl_fedavg_lr0.01,... \
      --run_labels=GPT-FL,... --plot_target_accuracy=0.8 \
      --experiment_name=plots

Each run directory is a `{root_output_dir}/{experiment_name}` (or a grid
run's folder) holding metrics.csv (in it or in its `federated/`). Runs with
the same label are one series. Writes, under
{root_output_dir}/{experiment_name}/: accuracy against rounds and against
parameters communicated, rounds and communication to the target accuracy,
gradient diversity against rounds, and test accuracy against epsilon for DP
runs (`gptfl_tff/orchestration/plots.py`), each where the runs have the
data; and flags.json.
"""

import os

from absl import app
from absl import flags

from experiments import shared_flags
from gptfl_tff import console
from gptfl_tff import io_utils
from gptfl_tff.orchestration import plots

flags.adopt_module_key_flags(shared_flags)

_RUN_DIRS = flags.DEFINE_list('run_dirs', [], 'Run folders to plot.')
_RUN_LABELS = flags.DEFINE_list(
    'run_labels', [], 'One label per run (same label: one series); empty: '
    'the folder names.')
_TARGET = flags.DEFINE_float(
    'plot_target_accuracy', None,
    'Validation accuracy for the rounds/communication-to-target plot.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  if not _RUN_DIRS.value:
    raise app.UsageError('Pass --run_dirs (comma-separated run folders).')
  if _TARGET.value is not None and not 0 < _TARGET.value <= 1:
    raise app.UsageError(
        f'--plot_target_accuracy must be in (0, 1]; got {_TARGET.value}.')
  try:
    runs = plots.load_runs(_RUN_DIRS.value, _RUN_LABELS.value)
  except ValueError as e:
    raise app.UsageError(str(e)) from e
  folder = shared_flags.run_dir('plots')
  written = plots.write_all(runs, folder, _TARGET.value)
  io_utils.write_flags(folder, __name__)
  console.print_summary(f'Plots ({folder})', ['file'],
                        [[os.path.basename(p)] for p in written])


if __name__ == '__main__':
  console.run(main)
