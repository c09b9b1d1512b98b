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
"""The GPT-FL benchmark grid (GPT-FL, Sec. 4 protocol), through the chain.

For each seed, setting, method and candidate client learning rate, one run:
GPT-FL runs are `chain.run` (sharing the prompts, synthetic data and
pretrained model of a seed through `shared_dir`, since pretraining sees no
real data); FL from scratch is `federated_experiment.run`. Settings (audio
tasks with speakers, e.g. FSDD):

  standard       the task's standard split, clients = speakers.
  unseen_{name}  every other speaker is a client, speaker {name} is the
                 test set.
  scarce         standard split, 5 real examples per label per client.
  skewed         standard split, 15 clients, Dirichlet(0.1) label skew,
                 5 per round.

Every run resumes part-way (stages, rounds), so a killed grid resumes.
`summarize` chooses each method's learning rate on the validation split
(best mean final validation accuracy over seeds) and reports test accuracy
only for that choice.
"""

import dataclasses
import json
import os
from typing import Any, Optional, Sequence

import numpy as np

from gptfl_tff import console
from gptfl_tff import errors
from gptfl_tff import models
from gptfl_tff import stages
from gptfl_tff import tasks
from gptfl_tff.finetuning import federated
from gptfl_tff.finetuning import federated_experiment
from gptfl_tff.finetuning import training_loop
from gptfl_tff.orchestration import chain
from gptfl_tff.tasks import base

# A method is an algorithm from random init (`{algorithm}_scratch`) or from
# the pretrained model (`gptfl_{algorithm}`).
METHODS = tuple(
    [f'{a.value}_scratch' for a in federated.Algorithm]
    + [f'gptfl_{a.value}' for a in federated.Algorithm])
# The grid's default: FedAvg and FedOpt (the paper's Table 1 methods).
DEFAULT_METHODS = ('fedavg_scratch', 'fedopt_scratch', 'gptfl_fedavg',
                   'gptfl_fedopt')
SETTINGS = ('standard', 'unseen_george', 'unseen_nicolas', 'scarce',
            'skewed')


class BenchmarkError(errors.UserError, ValueError):
  """Bad grid settings."""


@dataclasses.dataclass(frozen=True)
class BenchmarkConfig:
  """The grid.

  Attributes:
    chain: The template chain (task, data, generator, pretraining, rounds,
      local epochs); seeds, settings and methods vary it.
    output_dir: Root of every run.
    seeds: Seeds.
    settings: Setting names (module docstring).
    methods: Method names (`METHODS`).
    client_learning_rates: Candidate client rates of FL from scratch.
    finetune_client_learning_rates: Candidate client rates of GPT-FL.
    fedopt_server_learning_rate: Server Adam rate of FedOpt.
  """

  chain: chain.ChainConfig
  output_dir: str
  seeds: Sequence[int] = (0, 1, 2)
  settings: Sequence[str] = SETTINGS
  methods: Sequence[str] = DEFAULT_METHODS
  client_learning_rates: Sequence[float] = (0.05,)
  finetune_client_learning_rates: Sequence[float] = (0.01,)
  fedopt_server_learning_rate: float = 0.01

  def __post_init__(self):
    for s in self.settings:
      setting_config(s, self.chain.experiment)  # Raises on a bad name.
    unknown = sorted(set(self.methods) - set(METHODS))
    if unknown:
      raise BenchmarkError(f'Unknown methods {unknown}; use {list(METHODS)}.')
    exp = self.chain.experiment
    if not tasks.get(exp.task).has_groups:
      raise BenchmarkError(
          f'The grid\'s settings need speakers; task {exp.task} has none. '
          'Use federated_main or gptfl_main for it.')
    if exp.eval_every < 1:
      raise BenchmarkError('The grid needs --eval_every >= 1.')
    if (any(_is_fedopt(m) for m in self.methods) and
        exp.process.server_optimizer == federated.ServerOptimizer.SGD):
      raise BenchmarkError(
          'FedOpt methods need --server_optimizer=adam or yogi.')
    if (any(_algorithm(m) == federated.Algorithm.SCAFFOLD
            for m in self.methods) and exp.process.dp is not None):
      raise BenchmarkError(
          'SCAFFOLD methods run without DP: drop them from --bench_methods '
          'or drop --dp_noise_multiplier/--target_epsilon.')
    if (any(_algorithm(m) == federated.Algorithm.FEDPROX
            for m in self.methods) and exp.process.proximal_strength <= 0):
      raise BenchmarkError(
          'FedProx methods need --proximal_strength > 0; got '
          f'{exp.process.proximal_strength}.')


def setting_config(
    name: str, base_config: federated_experiment.ExperimentConfig
) -> federated_experiment.ExperimentConfig:
  """The data and partition part of a named setting.

  Raises:
    BenchmarkError: For an unknown setting name.
  """
  if name == 'standard':
    return base_config
  if name.startswith('unseen_'):
    return dataclasses.replace(
        base_config, clients_per_round=4, data=dataclasses.replace(
            base_config.data, test_speakers=(name[len('unseen_'):],)))
  if name == 'scarce':
    return dataclasses.replace(base_config, examples_per_label=5)
  if name == 'skewed':
    return dataclasses.replace(
        base_config, partition=base.Partition.DIRICHLET, num_clients=15,
        dirichlet_alpha=0.1, min_client_examples=20, clients_per_round=5)
  raise BenchmarkError(
      f'Unknown benchmark setting {name!r}; use standard, unseen_<speaker>, '
      'scarce or skewed.')


def _rates(config: BenchmarkConfig, method: str) -> Sequence[float]:
  if method.startswith('gptfl'):
    return config.finetune_client_learning_rates
  return config.client_learning_rates


def run_dir(config: BenchmarkConfig, seed: int, setting: str, method: str,
            lr: float) -> str:
  return os.path.join(config.output_dir, f'seed{seed}', setting,
                      f'{method}_lr{lr:g}')


def runs(config: BenchmarkConfig):
  """Yields `(seed, setting, method, lr)` of every run of the grid."""
  for seed in config.seeds:
    for setting in config.settings:
      for method in config.methods:
        for lr in _rates(config, method):
          yield seed, setting, method, lr


def _algorithm(method: str) -> federated.Algorithm:
  (name,) = set(method.split('_')) - {'gptfl', 'scratch'}
  return federated.Algorithm(name)


def _is_fedopt(method: str) -> bool:
  return _algorithm(method) == federated.Algorithm.FEDOPT


def method_config(config: BenchmarkConfig, seed: int, setting: str,
                  method: str, lr: float
                  ) -> federated_experiment.ExperimentConfig:
  """The federated run of one grid cell (its folder not yet set).

  Args:
    config: The grid.
    seed: The run's seed.
    setting: The run's setting.
    method: One of `METHODS`.
    lr: The run's client learning rate.

  Returns:
    The run's `ExperimentConfig`: the setting's data and partition, the
    seed, the client rate, and the method's algorithm: FedAvg, FedProx or
    SCAFFOLD (server SGD at 1.0; FedProx's mu from the template; SCAFFOLD
    with client momentum 0, which its control variates assume) or FedOpt
    (the server optimizer at `config.fedopt_server_learning_rate`).
  """
  template = config.chain.experiment
  fedopt = _is_fedopt(method)
  algorithm = _algorithm(method)
  return setting_config(setting, dataclasses.replace(
      template, seed=seed, data=dataclasses.replace(template.data, seed=seed),
      process=dataclasses.replace(
          template.process, client_learning_rate=lr, algorithm=algorithm,
          client_momentum=(0.0 if algorithm == federated.Algorithm.SCAFFOLD
                           else template.process.client_momentum),
          server_learning_rate=(config.fedopt_server_learning_rate if fedopt
                                else 1.0))))


def run_one(config: BenchmarkConfig, seed: int, setting: str, method: str,
            lr: float, progress: bool = False,
            redo_from: Optional[str] = None) -> None:
  """Runs (or resumes, or skips) one run of the grid.

  Args:
    config: The grid.
    seed: The run's seed.
    setting: The run's setting.
    method: The run's method.
    lr: The run's client learning rate.
    progress: Show the run's progress bars.
    redo_from: Redo this stage (`stages.ORDER`) and every later one.
  """
  exp = method_config(config, seed, setting, method, lr)
  folder = run_dir(config, seed, setting, method, lr)
  fed_dir = os.path.join(folder, 'federated')
  if method.startswith('gptfl'):
    chain.run(dataclasses.replace(
        config.chain, experiment=dataclasses.replace(exp, output_dir=fed_dir),
        output_dir=folder,
        shared_dir=os.path.join(config.output_dir, f'seed{seed}', 'shared'),
        pretraining=dataclasses.replace(config.chain.pretraining, seed=seed)),
              redo_from, progress=progress)
  else:
    federated_experiment.run(
        dataclasses.replace(exp, output_dir=fed_dir),
        redo=stages.redo_flags(redo_from)['federated'], progress=progress)


def run(config: BenchmarkConfig, progress: bool = False,
        redo_from: Optional[str] = None) -> None:
  """Runs (or resumes) every run of the grid, with a bar over runs."""
  grid = list(runs(config))
  with console.progress(len(grid), 'benchmark runs', 'run',
                        enabled=progress) as bar:
    for seed, setting, method, lr in grid:
      run_one(config, seed, setting, method, lr, redo_from=redo_from)
      bar.update(1, seed=seed, setting=setting, method=method)


def count_params(config: chain.ChainConfig) -> int:
  """Trainable parameters of the chain's downstream model."""
  model = tasks.get(config.experiment.task).create_model(
      config.experiment.model)
  return models.count_params(model.trainable_weights)


def _curve(folder: str, column: str) -> list[Optional[float]]:
  rows = training_loop.read_metrics(
      os.path.join(folder, 'federated', 'metrics.csv'))
  return [r[column] for r in rows]


def rounds_to_reach(curve: Sequence[Optional[float]],
                    target: float) -> Optional[int]:
  """First round (1-based) whose accuracy is >= target, else None."""
  for k, acc in enumerate(curve, 1):
    if acc is not None and acc >= target - 1e-9:
      return k
  return None


def _final(curve: Sequence[Optional[float]]) -> float:
  return [a for a in curve if a is not None][-1]


def summarize(config: BenchmarkConfig, params_per_client: int
              ) -> dict[str, Any]:
  """Per setting and method: the learning rate chosen on validation, its
  test accuracy (mean +- std over seeds), and rounds to FedAvg's final.

  The target of each seed is FedAvg-from-scratch's (at its chosen rate)
  final test accuracy; a run that never reaches it counts in `reached`.
  Synthetic-only accuracy is the pretrained model's, before any FL.
  """
  summary = {}
  for setting in config.settings:
    chosen = {}
    for method in config.methods:
      val = {lr: np.mean([_final(_curve(run_dir(
          config, s, setting, method, lr), 'val_accuracy'))
                          for s in config.seeds])
             for lr in _rates(config, method)}
      chosen[method] = max(val, key=lambda lr, v=val: (v[lr], -lr))
    rows = {}
    gptfl = [m for m in config.methods if m.startswith('gptfl')]
    if gptfl:
      accs = []
      for s in config.seeds:
        with open(os.path.join(run_dir(config, s, setting, gptfl[0],
                                       chosen[gptfl[0]]),
                               chain.RESULTS)) as f:
          accs.append(json.load(f)['synthetic_only']['test_accuracy'])
      rows['synthetic_only'] = {'mean': float(np.mean(accs)),
                                'std': float(np.std(accs)),
                                'per_seed': accs}
    clients = setting_config(setting, config.chain.experiment
                             ).clients_per_round
    for method in config.methods:
      lr = chosen[method]
      accs, reach = [], []
      for s in config.seeds:
        curve = _curve(run_dir(config, s, setting, method, lr),
                       'test_accuracy')
        accs.append(_final(curve))
        if 'fedavg_scratch' in config.methods:
          target = _final(_curve(run_dir(
              config, s, setting, 'fedavg_scratch',
              chosen['fedavg_scratch']), 'test_accuracy'))
          reach.append(rounds_to_reach(curve, target))
      row = {'mean': float(np.mean(accs)), 'std': float(np.std(accs)),
             'per_seed': accs, 'client_learning_rate': lr}
      if reach:
        got = [r for r in reach if r is not None]
        row['rounds_to_fedavg_final'] = reach
        row['reached'] = f'{len(got)}/{len(reach)}'
        if got:
          row['rounds_to_fedavg_final_mean'] = float(np.mean(got))
          row['params_to_fedavg_final_mean'] = float(
              np.mean(got) * 2 * params_per_client * clients)
      rows[method] = row
    summary[setting] = rows
  return summary


_ALGORITHM_NAMES = {'fedavg': 'FedAvg', 'fedopt': 'FedOpt',
                    'fedprox': 'FedProx', 'scaffold': 'SCAFFOLD'}
_NAMES = {'synthetic_only': 'synthetic-only (pretrained, no FL)'}
_NAMES.update({f'{a}_scratch': f'{name} from scratch'
               for a, name in _ALGORITHM_NAMES.items()})
_NAMES.update({f'gptfl_{a}': f'GPT-FL + {name}'
               for a, name in _ALGORITHM_NAMES.items()})


def display_name(method: str) -> str:
  """A method's name in tables, e.g. 'GPT-FL + FedAvg'.

  Args:
    method: One of `METHODS`, or 'synthetic_only'.

  Returns:
    The name.

  Raises:
    KeyError: For another method.
  """
  return _NAMES[method]


def format_markdown(summary: dict[str, Any], rounds: int) -> str:
  """Renders `summarize`'s output as one markdown table per setting."""
  lines = []
  for setting, rows in summary.items():
    lines += [f'### {setting}', '',
              f'| method | client lr (chosen on validation) | test accuracy '
              f'after {rounds} rounds (mean +- std) | per seed | rounds to '
              'FedAvg-from-scratch final (mean; reached) | params '
              'communicated to reach it |',
              '| --- | ---: | ---: | --- | ---: | ---: |']
    for method, row in rows.items():
      per_seed = ', '.join(f'{a:.3f}' for a in row['per_seed'])
      reach = params = ''
      if 'reached' in row:
        reach = (f"{row['rounds_to_fedavg_final_mean']:.1f}; {row['reached']}"
                 if 'rounds_to_fedavg_final_mean' in row
                 else f"-; {row['reached']}")
        if 'params_to_fedavg_final_mean' in row:
          params = f"{row['params_to_fedavg_final_mean'] / 1e6:.1f}M"
      lr = row.get('client_learning_rate', '')
      lines.append(
          f"| {display_name(method)} | {lr} | {100 * row['mean']:.1f} +- "
          f"{100 * row['std']:.1f} | {per_seed} | {reach} | {params} |")
    lines.append('')
  return '\n'.join(lines)
