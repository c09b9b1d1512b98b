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
"""PNG plots of federated runs, as the paper draws them.

From runs' `metrics.csv` (read with `training_loop.read_metrics`, located
with `curves.metrics_path`) and, for DP runs, their `privacy.json`:

  * validation accuracy against rounds and against parameters communicated
    (down + up, cumulative; the paper's Figs. 2-3);
  * rounds and parameters communicated until a target validation accuracy
    (the paper's communication-cost comparison);
  * gradient diversity against rounds (the paper's Fig. 6);
  * final test accuracy against epsilon (DP runs; not in the paper).

Runs sharing a label are one series (their mean, with min-max band, for the
curves; connected points for epsilon). Files are written atomically.
"""

import collections
import dataclasses
import json
import os
from typing import Any, Optional, Sequence

import matplotlib
matplotlib.use('Agg')
from matplotlib import pyplot  # pylint: disable=g-import-not-at-top
import numpy as np

from gptfl_tff import io_utils
from gptfl_tff.finetuning import federated_experiment
from gptfl_tff.finetuning import training_loop
from gptfl_tff.orchestration import curves

ACCURACY_ROUNDS = 'accuracy_vs_rounds.png'
ACCURACY_PARAMS = 'accuracy_vs_params.png'
TO_TARGET = 'to_target.png'
DIVERSITY = 'gradient_diversity.png'
PRIVACY = 'accuracy_vs_epsilon.png'


@dataclasses.dataclass(frozen=True)
class Run:
  """One run's rows, its label and its privacy report (if DP)."""
  label: str
  rows: list[dict[str, Any]]
  privacy: Optional[dict[str, Any]] = None


def load_runs(run_dirs: Sequence[str],
              labels: Sequence[str] = ()) -> list[Run]:
  """Reads runs for plotting.

  Args:
    run_dirs: `{root_output_dir}/{experiment_name}` folders.
    labels: One label per run (runs with one label are one series); empty:
      each run's folder name.

  Returns:
    The runs, in order.

  Raises:
    ValueError: If the label count does not match.
    FileNotFoundError: If a folder has no metrics.csv.
  """
  if labels and len(labels) != len(run_dirs):
    raise ValueError(
        f'--run_labels needs one label per run: {len(labels)} labels for '
        f'{len(run_dirs)} runs.')
  runs = []
  for i, run_dir in enumerate(run_dirs):
    path = curves.metrics_path(run_dir)
    if not path:
      raise FileNotFoundError(
          f'{run_dir} holds no metrics.csv; pass run folders '
          '({root_output_dir}/{experiment_name}) to --run_dirs.')
    report = os.path.join(os.path.dirname(path),
                          federated_experiment.PRIVACY_FILE)
    privacy = None
    if os.path.isfile(report):
      with open(report, encoding='utf-8') as f:
        privacy = json.load(f)
    label = labels[i] if labels else os.path.basename(
        os.path.normpath(run_dir))
    runs.append(Run(label, training_loop.read_metrics(path), privacy))
  return runs


def params_communicated(row: dict[str, Any]) -> int:
  """Parameters sent down and up until the end of `row`'s round."""
  return row['cumulative_params_down'] + row['cumulative_params_up']


def series(rows: Sequence[dict[str, Any]], x: str, y: str
           ) -> tuple[np.ndarray, np.ndarray]:
  """`(xs, ys)` of the rows where `y` was measured.

  Args:
    rows: A run's rows.
    x: 'round' or 'params' (`params_communicated`).
    y: A metrics column, e.g. 'val_accuracy' or 'gradient_diversity'.

  Returns:
    Two arrays of equal length.
  """
  kept = [r for r in rows if r[y] is not None]
  xs = [r['round'] if x == 'round' else params_communicated(r) for r in kept]
  return np.array(xs, float), np.array([r[y] for r in kept], float)


def to_target(rows: Sequence[dict[str, Any]], target: float
              ) -> Optional[tuple[int, int]]:
  """`(round, params communicated)` when validation accuracy first reached
  `target`, or `None` if it never did."""
  for r in rows:
    if r['val_accuracy'] is not None and r['val_accuracy'] >= target:
      return r['round'], params_communicated(r)
  return None


def _grouped(runs: Sequence[Run]) -> dict[str, list[Run]]:
  groups = collections.OrderedDict()
  for run in runs:
    groups.setdefault(run.label, []).append(run)
  return groups


def _save(figure, path: str) -> None:
  with io_utils.atomic_path(path) as tmp:
    figure.savefig(tmp, format='png', dpi=120, bbox_inches='tight')
  pyplot.close(figure)


def _plot_curves(runs: Sequence[Run], x: str, y: str, xlabel: str,
                 ylabel: str, title: str, path: str) -> bool:
  """Mean and min-max band per label; False if nothing to draw."""
  figure, axes = pyplot.subplots(figsize=(6, 4))
  drawn = False
  for label, group in _grouped(runs).items():
    curves_xy = [series(run.rows, x, y) for run in group]
    curves_xy = [c for c in curves_xy if len(c[0])]
    if not curves_xy:
      continue
    n = min(len(c[0]) for c in curves_xy)
    xs = np.mean([c[0][:n] for c in curves_xy], axis=0)
    ys = np.array([c[1][:n] for c in curves_xy])
    axes.plot(xs, ys.mean(axis=0), marker='.', label=f'{label} (n={len(ys)})')
    if len(ys) > 1:
      axes.fill_between(xs, ys.min(axis=0), ys.max(axis=0), alpha=0.2)
    drawn = True
  if not drawn:
    pyplot.close(figure)
    return False
  axes.set(xlabel=xlabel, ylabel=ylabel, title=title)
  axes.grid(alpha=0.3)
  axes.legend(fontsize=8)
  _save(figure, path)
  return True


def _plot_to_target(runs: Sequence[Run], target: float, path: str) -> bool:
  labels, rounds, params, missed = [], [], [], []
  for label, group in _grouped(runs).items():
    reached = [to_target(run.rows, target) for run in group]
    if any(r is None for r in reached):
      missed.append(label)  # Missed in some run: named, not drawn.
      continue
    labels.append(label)
    rounds.append(np.mean([r[0] for r in reached]))
    params.append(np.mean([r[1] for r in reached]) / 1e6)
  if not labels:
    return False
  figure, (left, right) = pyplot.subplots(1, 2, figsize=(9, 3.5))
  left.barh(labels, rounds)
  title = f'to {target:.0%} validation accuracy'
  if missed:
    title += '\nnot reached: ' + ', '.join(missed)
  left.set(xlabel='rounds', title=title)
  right.barh(labels, params)
  right.set(xlabel='parameters communicated (millions)')
  right.set_yticks([])
  _save(figure, path)
  return True


def _plot_privacy(runs: Sequence[Run], path: str) -> bool:
  figure, axes = pyplot.subplots(figsize=(6, 4))
  drawn = False
  for label, group in _grouped(runs).items():
    points = sorted(
        (run.privacy['epsilon'], run.rows[-1]['test_accuracy'])
        for run in group
        if run.privacy and run.rows[-1]['test_accuracy'] is not None)
    if points:
      axes.plot(*zip(*points), marker='o', label=label)
      drawn = True
  if not drawn:
    pyplot.close(figure)
    return False
  axes.set(xlabel='epsilon (delta as in privacy.json)',
           ylabel='test accuracy, last round',
           title='User-level DP-FedAvg')
  axes.set_xscale('log')
  axes.grid(alpha=0.3)
  axes.legend(fontsize=8)
  _save(figure, path)
  return True


def write_all(runs: Sequence[Run], folder: str,
              target: Optional[float] = None) -> list[str]:
  """Writes every plot the runs have data for.

  Args:
    runs: From `load_runs`.
    folder: Output folder (created).
    target: Validation accuracy for the to-target plot (`None`: no plot).

  Returns:
    The paths written.
  """
  os.makedirs(folder, exist_ok=True)
  written = []

  def out(name):
    return os.path.join(folder, name)

  if _plot_curves(runs, 'round', 'val_accuracy', 'round',
                  'validation accuracy', 'Accuracy against rounds',
                  out(ACCURACY_ROUNDS)):
    written.append(out(ACCURACY_ROUNDS))
  if _plot_curves(runs, 'params', 'val_accuracy',
                  'parameters communicated (down + up)',
                  'validation accuracy', 'Accuracy against communication',
                  out(ACCURACY_PARAMS)):
    written.append(out(ACCURACY_PARAMS))
  if target is not None and _plot_to_target(runs, target, out(TO_TARGET)):
    written.append(out(TO_TARGET))
  if _plot_curves(runs, 'round', 'gradient_diversity', 'round',
                  'gradient diversity (Eq. 1)', 'Gradient diversity',
                  out(DIVERSITY)):
    written.append(out(DIVERSITY))
  if _plot_privacy(runs, out(PRIVACY)):
    written.append(out(PRIVACY))
  return written
