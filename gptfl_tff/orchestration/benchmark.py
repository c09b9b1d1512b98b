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

For each seed, setting, method and candidate hyper-parameters (client
learning rate; FedOpt's server rate; FedProx's mu), one run:
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
`summarize` chooses each method's hyper-parameters on the validation split
(best mean final validation accuracy over seeds) and reports test accuracy
only for that choice.
"""

import dataclasses
import itertools
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


@dataclasses.dataclass(frozen=True, order=True)
class Hyperparameters:
  """The tuned values of one grid cell.

  Attributes:
    client_learning_rate: The client optimizer's rate (every method).
    server_learning_rate: The server optimizer's rate (FedOpt; 1.0, plain
      averaging, for the others).
    proximal_strength: FedProx's mu (0.0 for the others, where it is unused).
  """

  client_learning_rate: float
  server_learning_rate: float = 1.0
  proximal_strength: float = 0.0

  def __post_init__(self):
    if self.client_learning_rate <= 0 or self.server_learning_rate <= 0:
      raise BenchmarkError(
          f'Learning rates must be > 0; got client {self.client_learning_rate}'
          f', server {self.server_learning_rate}.')
    if self.proximal_strength < 0:
      raise BenchmarkError(
          f'The proximal strength must be >= 0; got {self.proximal_strength}.')

  def _tuned(self, method: str) -> list[tuple[str, str, str]]:
    """(field, folder tag, table label) of each value `method` uses."""
    out = [('client_learning_rate', 'lr', 'lr')]
    if _algorithm(method) == federated.Algorithm.FEDOPT:
      out.append(('server_learning_rate', 'slr', 'server lr'))
    if _algorithm(method) == federated.Algorithm.FEDPROX:
      out.append(('proximal_strength', 'mu', 'mu'))
    return out

  def used(self, method: str) -> dict[str, float]:
    """The values `method` uses, by field name."""
    return {field: getattr(self, field) for field, _, _ in self._tuned(method)}

  def name(self, method: str) -> str:
    """The cell's folder name, e.g. 'gptfl_fedprox_lr0.01_mu0.1'."""
    return method + ''.join(f'_{tag}{getattr(self, field):g}'
                            for field, tag, _ in self._tuned(method))

  def describe(self, method: str) -> str:
    """The values `method` uses, for tables, e.g. 'lr 0.01, mu 0.1'."""
    return ', '.join(f'{label} {getattr(self, field):g}'
                     for field, _, label in self._tuned(method))


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
    fedopt_server_learning_rates: Candidate server rates of FedOpt (the
      template's server optimizer, Adam or Yogi).
    proximal_strengths: Candidate mu of FedProx.
  """

  chain: chain.ChainConfig
  output_dir: str
  seeds: Sequence[int] = (0, 1, 2)
  settings: Sequence[str] = SETTINGS
  methods: Sequence[str] = DEFAULT_METHODS
  client_learning_rates: Sequence[float] = (0.05,)
  finetune_client_learning_rates: Sequence[float] = (0.01,)
  fedopt_server_learning_rates: Sequence[float] = (0.01,)
  proximal_strengths: Sequence[float] = (0.01,)

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
    for name, values in [
        ('--bench_client_learning_rates', self.client_learning_rates),
        ('--bench_finetune_client_learning_rates',
         self.finetune_client_learning_rates),
        ('--bench_fedopt_server_learning_rates',
         self.fedopt_server_learning_rates),
        ('--bench_proximal_strengths', self.proximal_strengths)]:
      if not values or min(values) <= 0:
        raise BenchmarkError(
            f'{name} needs one or more values > 0; got {list(values)}.' +
            (' (FedProx with mu = 0 is FedAvg: use the fedavg methods.)'
             if name == '--bench_proximal_strengths' else ''))
      if len({f'{v:g}' for v in values}) != len(values):
        raise BenchmarkError(
            f'{name} repeats a value (as folder names write them): '
            f'{list(values)}. Give each value once.')


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


def candidates(config: BenchmarkConfig,
               method: str) -> list[Hyperparameters]:
  """Every combination of `method`'s candidate hyper-parameters."""
  client = (config.finetune_client_learning_rates
            if method.startswith('gptfl') else config.client_learning_rates)
  algorithm = _algorithm(method)
  server = (config.fedopt_server_learning_rates
            if algorithm == federated.Algorithm.FEDOPT else (1.0,))
  mu = (config.proximal_strengths
        if algorithm == federated.Algorithm.FEDPROX else (0.0,))
  return [Hyperparameters(*values)
          for values in itertools.product(client, server, mu)]


def run_dir(config: BenchmarkConfig, seed: int, setting: str, method: str,
            hyper: Hyperparameters) -> str:
  return os.path.join(config.output_dir, f'seed{seed}', setting,
                      hyper.name(method))


def runs(config: BenchmarkConfig):
  """Yields `(seed, setting, method, hyper)` of every run of the grid."""
  for seed in config.seeds:
    for setting in config.settings:
      for method in config.methods:
        for hyper in candidates(config, method):
          yield seed, setting, method, hyper


def _algorithm(method: str) -> federated.Algorithm:
  (name,) = set(method.split('_')) - {'gptfl', 'scratch'}
  return federated.Algorithm(name)


def _is_fedopt(method: str) -> bool:
  return _algorithm(method) == federated.Algorithm.FEDOPT


def method_config(config: BenchmarkConfig, seed: int, setting: str,
                  method: str, hyper: Hyperparameters
                  ) -> federated_experiment.ExperimentConfig:
  """The federated run of one grid cell (its folder not yet set).

  Args:
    config: The grid.
    seed: The run's seed.
    setting: The run's setting.
    method: One of `METHODS`.
    hyper: The run's hyper-parameters (one of `candidates`); the method
      uses those it tunes (`Hyperparameters.describe`).

  Returns:
    The run's `ExperimentConfig`: the setting's data and partition, the
    seed, the client rate, and the method's algorithm: FedAvg, FedProx
    (with `hyper`'s mu) or SCAFFOLD (server SGD at 1.0; SCAFFOLD with client
    momentum 0, which its control variates assume) or FedOpt (the
    template's server optimizer at `hyper`'s server rate).
  """
  template = config.chain.experiment
  algorithm = _algorithm(method)
  process = dataclasses.replace(
      template.process, algorithm=algorithm,
      client_learning_rate=hyper.client_learning_rate,
      server_learning_rate=(hyper.server_learning_rate
                            if algorithm == federated.Algorithm.FEDOPT
                            else 1.0),
      proximal_strength=(hyper.proximal_strength
                         if algorithm == federated.Algorithm.FEDPROX
                         else template.process.proximal_strength),
      client_momentum=(0.0 if algorithm == federated.Algorithm.SCAFFOLD
                       else template.process.client_momentum))
  return setting_config(setting, dataclasses.replace(
      template, seed=seed, data=dataclasses.replace(template.data, seed=seed),
      process=process))


def run_one(config: BenchmarkConfig, seed: int, setting: str, method: str,
            hyper: Hyperparameters, progress: bool = False,
            redo_from: Optional[str] = None) -> None:
  """Runs (or resumes, or skips) one run of the grid.

  Args:
    config: The grid.
    seed: The run's seed.
    setting: The run's setting.
    method: The run's method.
    hyper: The run's hyper-parameters.
    progress: Show the run's progress bars.
    redo_from: Redo this stage (`stages.ORDER`) and every later one.
  """
  exp = method_config(config, seed, setting, method, hyper)
  folder = run_dir(config, seed, setting, method, hyper)
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
    for seed, setting, method, hyper in grid:
      run_one(config, seed, setting, method, hyper, redo_from=redo_from)
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
  """Per setting and method: the hyper-parameters chosen on validation,
  their test accuracy (mean +- std over seeds), and rounds to FedAvg's final.

  The choice is the best mean final validation accuracy over seeds; ties go
  to the smallest values (client rate, then server rate, then mu). The
  target of each seed is FedAvg-from-scratch's (at its chosen rate) final
  test accuracy; a run that never reaches it counts in `reached`.
  Synthetic-only accuracy is the pretrained model's, before any FL.
  """
  summary = {}
  for setting in config.settings:
    chosen = {}
    for method in config.methods:
      val = {h: np.mean([_final(_curve(run_dir(
          config, s, setting, method, h), 'val_accuracy'))
                         for s in config.seeds])
             for h in candidates(config, method)}
      # Highest validation accuracy (means equal to 1e-9 tie), then the
      # smallest values.
      chosen[method] = min(val, key=lambda h, v=val: (-round(v[h], 9), h))
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
      hyper = chosen[method]
      accs, reach = [], []
      for s in config.seeds:
        curve = _curve(run_dir(config, s, setting, method, hyper),
                       'test_accuracy')
        accs.append(_final(curve))
        if 'fedavg_scratch' in config.methods:
          target = _final(_curve(run_dir(
              config, s, setting, 'fedavg_scratch',
              chosen['fedavg_scratch']), 'test_accuracy'))
          reach.append(rounds_to_reach(curve, target))
      row = {'mean': float(np.mean(accs)), 'std': float(np.std(accs)),
             'per_seed': accs, 'hyperparameters': hyper.describe(method),
             **hyper.used(method)}
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
              '| method | hyper-parameters (chosen on validation) | test '
              f'accuracy after {rounds} rounds (mean +- std) | per seed | '
              'rounds to FedAvg-from-scratch final (mean; reached) | params '
              'communicated to reach it |',
              '| --- | --- | ---: | --- | ---: | ---: |']
    for method, row in rows.items():
      per_seed = ', '.join(f'{a:.3f}' for a in row['per_seed'])
      reach = params = ''
      if 'reached' in row:
        reach = (f"{row['rounds_to_fedavg_final_mean']:.1f}; {row['reached']}"
                 if 'rounds_to_fedavg_final_mean' in row
                 else f"-; {row['reached']}")
        if 'params_to_fedavg_final_mean' in row:
          params = f"{row['params_to_fedavg_final_mean'] / 1e6:.1f}M"
      lines.append(
          f"| {display_name(method)} | {row.get('hyperparameters', '')} | "
          f"{100 * row['mean']:.1f} +- {100 * row['std']:.1f} | {per_seed} | "
          f'{reach} | {params} |')
    lines.append('')
  return '\n'.join(lines)
