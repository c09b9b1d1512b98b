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
"""Learning-curve summaries of federated runs, as the results tables print.

A run's `metrics.csv` (written by `training_loop`) holds one row a round and
validation (and test) metrics on evaluation rounds; curves follow the
validation accuracy, the split hyper-parameters are chosen on. `summarize`
condenses such a curve into what `docs/results.md` reports: rounds run,
seconds a round, accuracy at chosen rounds, the last and the best
evaluation, and the first evaluated round at which each accuracy threshold
was reached, with the minutes of rounds (the sum of `round_seconds`,
evaluation time excluded) spent up to it. `to_markdown` prints summaries as
one table.
"""

import dataclasses
import os
import statistics
from typing import Any, Optional, Sequence

from gptfl_tff.finetuning import training_loop


@dataclasses.dataclass(frozen=True)
class Reached:
  """When a curve first reached an accuracy threshold."""
  round: int
  minutes: float


@dataclasses.dataclass(frozen=True)
class CurveSummary:
  """One run's curve, condensed.

  Attributes:
    name: The run's name (its folder's).
    rounds: Rounds run.
    median_round_seconds: Median wall time of a round.
    mean_round_seconds: Mean wall time of a round.
    round_minutes: Sum of all rounds' wall times, in minutes.
    accuracy_at: Validation accuracy at each requested round that was evaluated.
    last_round: The last evaluated round.
    last_accuracy: Validation accuracy there.
    best_round: The evaluated round with the highest accuracy (the first
      such round on ties).
    best_accuracy: Validation accuracy there.
    reached: For each requested threshold, the first evaluated round whose
      accuracy was at least the threshold, or `None` if none was.
  """
  name: str
  rounds: int
  median_round_seconds: float
  mean_round_seconds: float
  round_minutes: float
  accuracy_at: dict[int, float]
  last_round: int
  last_accuracy: float
  best_round: int
  best_accuracy: float
  reached: dict[float, Optional[Reached]]


def summarize(
    rows: Sequence[dict[str, Any]],
    name: str,
    checkpoints: Sequence[int] = (),
    thresholds: Sequence[float] = (),
) -> CurveSummary:
  """Condenses one run's metric rows.

  Args:
    rows: Rows as `training_loop.read_metrics` returns them, in round order.
    name: The run's name.
    checkpoints: Rounds whose accuracy to report; rounds not evaluated are
      left out of `accuracy_at`.
    thresholds: Accuracies (fractions) whose first crossing to report.

  Returns:
    The `CurveSummary`.

  Raises:
    ValueError: If there are no rows, rounds are not 1, 2, 3, ..., a round
      lacks its wall time, or no round was evaluated.
  """
  if not rows:
    raise ValueError(f'Run {name!r} has no rounds yet.')
  numbers = [r['round'] for r in rows]
  if numbers != list(range(1, len(rows) + 1)):
    raise ValueError(
        f'Run {name!r}: rounds must be 1, 2, 3, ... in order; got '
        f'{numbers[:5]}... Was the file written by two runs?'
    )
  if any(r['round_seconds'] is None for r in rows):
    raise ValueError(f'Run {name!r} has rounds without a round_seconds.')
  evals = [(r['round'], r['val_accuracy']) for r in rows
           if r['val_accuracy'] is not None]
  if not evals:
    raise ValueError(
        f'Run {name!r} has no evaluated round; run with --eval_every > 0.'
    )
  seconds = [r['round_seconds'] for r in rows]
  elapsed = []
  total = 0.0
  for s in seconds:
    total += s
    elapsed.append(total)
  accuracy = dict(evals)
  best_round, best_accuracy = max(evals, key=lambda e: (e[1], -e[0]))
  reached = {}
  for threshold in thresholds:
    first = next((n for n, a in evals if a >= threshold), None)
    reached[threshold] = None if first is None else Reached(
        round=first, minutes=elapsed[first - 1] / 60)
  return CurveSummary(
      name=name,
      rounds=len(rows),
      median_round_seconds=statistics.median(seconds),
      mean_round_seconds=statistics.mean(seconds),
      round_minutes=total / 60,
      accuracy_at={c: accuracy[c] for c in checkpoints if c in accuracy},
      last_round=evals[-1][0],
      last_accuracy=evals[-1][1],
      best_round=best_round,
      best_accuracy=best_accuracy,
      reached=reached,
  )


def load(
    run_dir: str,
    checkpoints: Sequence[int] = (),
    thresholds: Sequence[float] = (),
) -> CurveSummary:
  """Summarizes the run whose outputs are in `run_dir`.

  Args:
    run_dir: `{root_output_dir}/{experiment_name}` of a run (metrics in it
      or in its `federated/`).
    checkpoints: See `summarize`.
    thresholds: See `summarize`.

  Returns:
    The `CurveSummary`, named after the folder.

  Raises:
    FileNotFoundError: If `run_dir` holds no `metrics.csv`.
    ValueError: As `training_loop.read_metrics` and `summarize` raise.
  """
  path = metrics_path(run_dir)
  if not path:
    raise FileNotFoundError(
        f'{run_dir} holds no metrics.csv; pass the folder of a run '
        '({root_output_dir}/{experiment_name}).'
    )
  name = os.path.basename(os.path.normpath(run_dir))
  return summarize(
      training_loop.read_metrics(path), name, checkpoints, thresholds)


def metrics_path(run_dir: str) -> Optional[str]:
  """The run's metrics.csv (in the folder or its `federated/`), or None."""
  for path in (os.path.join(run_dir, 'federated', 'metrics.csv'),
               os.path.join(run_dir, 'metrics.csv')):
    if os.path.isfile(path):
      return path
  return None


def _percent(value: float) -> str:
  return f'{100 * value:.1f}'


def to_markdown(
    summaries: Sequence[CurveSummary],
    checkpoints: Sequence[int] = (),
    thresholds: Sequence[float] = (),
) -> str:
  """Prints summaries as one Markdown table (accuracies in percent).

  Args:
    summaries: The runs, one row each.
    checkpoints: The rounds to print a column for ('-' where not evaluated).
    thresholds: The thresholds to print a column for: first round (minutes
      of rounds), '-' where never reached.

  Returns:
    The table, ending in a newline.
  """
  header = ['run', 'rounds', 's / round (median)', 's / round (mean)']
  header += [f'acc r{c}' for c in checkpoints]
  header += ['last', 'best']
  header += [f'first >= {_percent(t)}% (min)' for t in thresholds]
  lines = ['| ' + ' | '.join(header) + ' |',
           '| --- |' + ' ---: |' * (len(header) - 1)]
  for s in summaries:
    cells = [s.name, str(s.rounds), f'{s.median_round_seconds:.1f}',
             f'{s.mean_round_seconds:.1f}']
    cells += [_percent(s.accuracy_at[c]) if c in s.accuracy_at else '-'
              for c in checkpoints]
    cells += [f'{_percent(s.last_accuracy)} (r{s.last_round})',
              f'{_percent(s.best_accuracy)} (r{s.best_round})']
    for t in thresholds:
      hit = s.reached.get(t)
      cells.append('-' if hit is None else f'{hit.round} ({hit.minutes:.1f})')
    lines.append('| ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines) + '\n'
