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
r"""The GPT-FL benchmark grid on a task with speakers (spoken digits).

  python -m experiments.benchmark_main \
      --data_dir=../shared/data/fsdd-5speakers.zip --rounds=15 \
      --client_epochs=2 --experiment_name=fsdd_bench \
      --bench_finetune_client_learning_rates=0.01,0.05

Seeds x settings x methods x candidate hyper-parameters, each run
through the one chain (GPT-FL) or the one federated runner (from scratch);
hyper-parameters (client rates, FedOpt's server rate, FedProx's mu) are
chosen on validation, test accuracy is reported. A killed
grid resumes part-way. Writes summary.json and summary.md under
{root_output_dir}/{experiment_name}/. Flags: experiments/shared_flags.py
and the --bench_ flags below.
"""

import os

from absl import app
from absl import flags

from experiments import shared_flags
from gptfl_tff import console
from gptfl_tff import io_utils
from gptfl_tff.orchestration import benchmark

flags.adopt_module_key_flags(shared_flags)

_SEEDS = flags.DEFINE_list('bench_seeds', ['0', '1', '2'], 'Seeds.')
_SETTINGS = flags.DEFINE_list(
    'bench_settings', list(benchmark.SETTINGS), 'Settings to run.')
_METHODS = flags.DEFINE_list(
    'bench_methods', list(benchmark.DEFAULT_METHODS),
    f'Methods to run, of {", ".join(benchmark.METHODS)}.')
_LRS = flags.DEFINE_list(
    'bench_client_learning_rates', ['0.05'],
    'Candidate client rates of FL from scratch (chosen on validation).')
_FINETUNE_LRS = flags.DEFINE_list(
    'bench_finetune_client_learning_rates', ['0.01'],
    'Candidate client rates of GPT-FL (chosen on validation).')
_FEDOPT_SERVER_LRS = flags.DEFINE_list(
    'bench_fedopt_server_learning_rates', ['0.01'],
    'Candidate server rates of FedOpt (chosen on validation).')
_PROXIMAL_STRENGTHS = flags.DEFINE_list(
    'bench_proximal_strengths', ['0.01'],
    'Candidate mu of FedProx (chosen on validation).')


# The grid sets these per run; giving one would be silently overridden.
_SET_BY_THE_GRID = (
    'algorithm', 'server_learning_rate', 'client_learning_rate',
    'proximal_strength', 'clients_per_round', 'partition', 'num_clients',
    'dirichlet_alpha', 'min_client_examples', 'test_speakers',
    'client_examples_per_label',
    'initial_model')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  shared_flags.refuse_given(
      _SET_BY_THE_GRID, 'The grid',
      '--bench_settings, --bench_methods, --bench_client_learning_rates, '
      '--bench_finetune_client_learning_rates, '
      '--bench_fedopt_server_learning_rates and --bench_proximal_strengths',
      why=' (per setting and method)')
  shared_flags.validate()
  folder = shared_flags.run_dir('benchmark')
  template = shared_flags.chain_config(folder)
  def positive(flag):
    return tuple(io_utils.parse_numbers(flag, float, 'positive numbers',
                                        lambda v: v > 0))

  try:
    config = benchmark.BenchmarkConfig(
        chain=template, output_dir=folder,
        seeds=tuple(io_utils.parse_numbers(_SEEDS, int, 'integers')),
        settings=tuple(_SETTINGS.value), methods=tuple(_METHODS.value),
        client_learning_rates=positive(_LRS),
        finetune_client_learning_rates=positive(_FINETUNE_LRS),
        fedopt_server_learning_rates=positive(_FEDOPT_SERVER_LRS),
        proximal_strengths=positive(_PROXIMAL_STRENGTHS))
  except benchmark.BenchmarkError as e:
    raise app.UsageError(str(e)) from e
  benchmark.run(config, progress=True, redo_from=shared_flags.redo_from())
  shared_flags.write_flags(folder, template, __name__)
  summary = benchmark.summarize(config, benchmark.count_params(template))
  io_utils.atomic_write_json(os.path.join(folder, 'summary.json'), summary)
  table = benchmark.format_markdown(summary, template.experiment.rounds)
  io_utils.atomic_write_text(os.path.join(folder, 'summary.md'), table)
  print(table)


if __name__ == '__main__':
  console.run(main)
