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
"""Tests for gptfl_tff.orchestration.benchmark: settings, the validation
choice of hyper-parameters, and the summary maths."""

import json
import os

import tensorflow as tf

from gptfl_tff.finetuning import federated_experiment as fe
from gptfl_tff.finetuning import training_loop
from gptfl_tff.orchestration import benchmark
from gptfl_tff.orchestration import chain


def _write_run(folder, val, test):
  os.makedirs(os.path.join(folder, 'federated'), exist_ok=True)
  writer = training_loop.MetricsWriter(os.path.join(folder, 'federated'))
  for k, (v, t) in enumerate(zip(val, test), 1):
    writer.write({'round': k, 'val_accuracy': v, 'test_accuracy': t})


def _config(out, **kw):
  return benchmark.BenchmarkConfig(
      chain=chain.ChainConfig(experiment=fe.ExperimentConfig.for_task('fsdd'),
                              output_dir=out),
      output_dir=out, seeds=(0, 1), settings=('standard',), **kw)


class BenchmarkTest(tf.test.TestCase):

  def test_rounds_to_reach(self):
    self.assertEqual(benchmark.rounds_to_reach([0.1, 0.5, 0.7], 0.5), 2)
    self.assertEqual(benchmark.rounds_to_reach([None, 0.6], 0.5), 2)
    self.assertIsNone(benchmark.rounds_to_reach([0.1, 0.2], 0.5))

  def test_settings(self):
    base = fe.ExperimentConfig.for_task('fsdd')
    unseen = benchmark.setting_config('unseen_lucas', base)
    self.assertEqual(unseen.data.test_speakers, ('lucas',))
    self.assertEqual(unseen.clients_per_round, 4)
    self.assertEqual(
        benchmark.setting_config('scarce', base).examples_per_label, 5)
    skew = benchmark.setting_config('skewed', base)
    self.assertEqual((skew.num_clients, skew.dirichlet_alpha), (15, 0.1))
    self.assertEqual(skew.partition, fe.Partition.DIRICHLET)
    with self.assertRaisesRegex(ValueError, "Unknown benchmark setting 'x'"):
      benchmark.setting_config('x', base)
    with self.assertRaisesRegex(ValueError, 'Unknown methods'):
      _config('/tmp', methods=('fedsgd',))

  def test_grid_refuses_what_it_cannot_run(self):
    def grid(task='fsdd', **kw):
      return benchmark.BenchmarkConfig(
          chain=chain.ChainConfig(
              experiment=fe.ExperimentConfig.for_task(task, **kw),
              output_dir='/tmp'),
          output_dir='/tmp', settings=('standard',))
    with self.assertRaisesRegex(benchmark.BenchmarkError, 'need speakers'):
      grid('cifar10')
    with self.assertRaisesRegex(benchmark.BenchmarkError, '--eval_every'):
      grid(eval_every=0)
    with self.assertRaisesRegex(benchmark.BenchmarkError, 'server_optimizer'):
      grid(process=fe.federated.ProcessConfig(
          server_optimizer=fe.federated.ServerOptimizer.SGD))
    with self.assertRaisesRegex(benchmark.BenchmarkError,
                                'SCAFFOLD.*--target_epsilon'):
      benchmark.BenchmarkConfig(
          chain=chain.ChainConfig(
              experiment=fe.ExperimentConfig.for_task(
                  'fsdd', process=fe.federated.ProcessConfig(
                      dp=fe.privacy.DPConfig(noise_multiplier=1.0))),
              output_dir='/tmp'),
          output_dir='/tmp', settings=('standard',),
          methods=('scaffold_scratch',))
    for field, flag in [
        ('proximal_strengths', '--bench_proximal_strengths'),
        ('fedopt_server_learning_rates',
         '--bench_fedopt_server_learning_rates'),
        ('client_learning_rates', '--bench_client_learning_rates')]:
      for values in [(0.0,), (), (0.1, 0.10)]:
        with self.subTest(field=field, values=values):
          with self.assertRaisesRegex(benchmark.BenchmarkError, flag):
            _config('/tmp', **{field: values})
    with self.assertRaisesRegex(benchmark.BenchmarkError, 'mu = 0 is FedAvg'):
      _config('/tmp', proximal_strengths=(0.0,))
    with self.assertRaisesRegex(benchmark.BenchmarkError, 'repeats a value'):
      _config('/tmp', proximal_strengths=(0.01, 0.010))

  def test_each_method_runs_its_algorithm(self):
    config = _config('/tmp')
    hyper = benchmark.Hyperparameters(
        client_learning_rate=0.03, server_learning_rate=0.02,
        proximal_strength=0.1)
    fedavg = fe.federated.Algorithm.FEDAVG
    fedopt = fe.federated.Algorithm.FEDOPT
    fedprox = fe.federated.Algorithm.FEDPROX
    scaffold = fe.federated.Algorithm.SCAFFOLD
    momentum = config.chain.experiment.process.client_momentum
    self.assertGreater(momentum, 0)
    mu = config.chain.experiment.process.proximal_strength
    # Each method takes only the values it tunes from `hyper`.
    expected = {
        'fedavg_scratch': (fedavg, 1.0, momentum, mu),
        'gptfl_fedavg': (fedavg, 1.0, momentum, mu),
        'fedopt_scratch': (fedopt, 0.02, momentum, mu),
        'gptfl_fedopt': (fedopt, 0.02, momentum, mu),
        'fedprox_scratch': (fedprox, 1.0, momentum, 0.1),
        'gptfl_fedprox': (fedprox, 1.0, momentum, 0.1),
        # SCAFFOLD's control variates assume plain client SGD.
        'scaffold_scratch': (scaffold, 1.0, 0.0, mu),
        'gptfl_scaffold': (scaffold, 1.0, 0.0, mu)}
    self.assertCountEqual(expected, benchmark.METHODS)
    for method, (algorithm, server_lr, mom, prox) in expected.items():
      with self.subTest(method):
        exp = benchmark.method_config(config, 1, 'scarce', method, hyper)
        self.assertEqual(exp.process.algorithm, algorithm)
        self.assertEqual(exp.process.client_momentum, mom)
        self.assertEqual(exp.process.server_learning_rate, server_lr)
        self.assertEqual(exp.process.proximal_strength, prox)
        self.assertEqual(exp.process.client_learning_rate, 0.03)
        self.assertEqual((exp.seed, exp.data.seed), (1, 1))
        self.assertEqual(exp.examples_per_label, 5)

  def test_every_method_has_a_display_name(self):
    for method in benchmark.METHODS + ('synthetic_only',):
      with self.subTest(method):
        name = benchmark.display_name(method)
        self.assertEqual(name.startswith('GPT-FL + '),
                         method.startswith('gptfl_'))
    self.assertEqual(benchmark.display_name('scaffold_scratch'),
                     'SCAFFOLD from scratch')

  def test_grid_lists_each_candidate_of_each_method(self):
    config = _config('/tmp', client_learning_rates=(0.05,),
                     finetune_client_learning_rates=(0.01, 0.05),
                     fedopt_server_learning_rates=(0.001, 0.01, 0.1),
                     proximal_strengths=(0.01, 0.1),
                     methods=('fedavg_scratch', 'gptfl_fedavg',
                              'gptfl_fedopt', 'fedprox_scratch'))
    runs = list(benchmark.runs(config))
    # Per seed: fedavg 1, gptfl_fedavg 2, gptfl_fedopt 2 x 3, fedprox 1 x 2.
    self.assertLen(runs, 2 * (1 + 2 + 6 + 2))
    h = benchmark.Hyperparameters
    self.assertIn((1, 'standard', 'gptfl_fedopt', h(0.05, 0.1)), runs)
    self.assertIn(
        (0, 'standard', 'fedprox_scratch', h(0.05, proximal_strength=0.1)),
        runs)
    # Each cell has a folder of its own, named by the values it uses.
    folders = {benchmark.run_dir(config, *r) for r in runs}
    self.assertLen(folders, len(runs))
    self.assertEqual(
        os.path.basename(benchmark.run_dir(config, *runs[-1])),
        'fedprox_scratch_lr0.05_mu0.1')
    self.assertEqual(h(0.01, 0.1).name('gptfl_fedopt'),
                     'gptfl_fedopt_lr0.01_slr0.1')
    self.assertEqual(h(0.01).name('gptfl_fedavg'), 'gptfl_fedavg_lr0.01')
    with self.assertRaisesRegex(benchmark.BenchmarkError, '> 0'):
      h(0.0)

  def test_values_are_chosen_on_validation_and_test_is_reported(self):
    out = self.create_tempdir().full_path
    config = _config(out, client_learning_rates=(0.05,),
                     finetune_client_learning_rates=(0.01, 0.05),
                     fedopt_server_learning_rates=(0.01, 0.1))
    h = benchmark.Hyperparameters
    # (val curve, test curve) per method, hyper-parameters and seed.
    curves = {
        ('fedavg_scratch', h(0.05)): [([.2, .6], [.2, .6]),
                                      ([.3, .8], [.3, .8])],
        # A tie on validation goes to the smaller server rate.
        ('fedopt_scratch', h(0.05, 0.01)): [([.1, .3], [.1, .3]),
                                            ([.2, .4], [.2, .4])],
        ('fedopt_scratch', h(0.05, 0.1)): [([.1, .4], [.9, .9]),
                                           ([.2, .3], [.9, .9])],
        # lr 0.01 is best on validation although 0.05 is best on test.
        ('gptfl_fedavg', h(0.01)): [([.6, .9], [.5, .8]), ([.5, .9], [.9, .9])],
        ('gptfl_fedavg', h(0.05)): [([.6, .7], [.9, .99]),
                                    ([.5, .7], [.9, .99])],
        ('gptfl_fedopt', h(0.01, 0.01)): [([.5, .6], [.5, .6]),
                                          ([.6, .85], [.6, .85])],
        ('gptfl_fedopt', h(0.05, 0.01)): [([.1, .1], [.1, .1]),
                                          ([.1, .1], [.1, .1])],
        ('gptfl_fedopt', h(0.01, 0.1)): [([.2, .2], [.9, .9]),
                                         ([.2, .2], [.9, .9])],
        # Best on validation: the pair, not each value on its own.
        ('gptfl_fedopt', h(0.05, 0.1)): [([.7, .8], [.6, .7]),
                                         ([.8, .9], [.7, .8])],
    }
    self.assertCountEqual(
        curves, [(m, x) for m in config.methods
                 for x in benchmark.candidates(config, m)])
    for (method, hyper), per_seed in curves.items():
      for seed, (val, test) in enumerate(per_seed):
        folder = benchmark.run_dir(config, seed, 'standard', method, hyper)
        _write_run(folder, val, test)
        if method.startswith('gptfl'):
          with open(os.path.join(folder, chain.RESULTS), 'w') as f:
            json.dump({'synthetic_only': {'test_accuracy': 0.5 + 0.1 * seed}},
                      f)
    s = benchmark.summarize(config, params_per_client=10)['standard']
    self.assertEqual(s['gptfl_fedavg']['client_learning_rate'], 0.01)
    self.assertNotIn('server_learning_rate', s['gptfl_fedavg'])
    self.assertAllClose(s['gptfl_fedavg']['mean'], 0.85)
    self.assertAllClose(s['gptfl_fedavg']['std'], 0.05)
    self.assertAllClose(s['synthetic_only']['mean'], 0.55)
    self.assertEqual(s['gptfl_fedavg']['rounds_to_fedavg_final'], [2, 1])
    self.assertAllClose(s['gptfl_fedavg']['params_to_fedavg_final_mean'],
                        1.5 * 2 * 10 * 5)
    self.assertEqual(s['fedopt_scratch']['reached'], '0/2')
    self.assertEqual(s['fedopt_scratch']['server_learning_rate'], 0.01)
    self.assertEqual((s['gptfl_fedopt']['client_learning_rate'],
                      s['gptfl_fedopt']['server_learning_rate']), (0.05, 0.1))
    self.assertAllClose(s['gptfl_fedopt']['mean'], 0.75)
    table = benchmark.format_markdown({'standard': s}, rounds=2)
    self.assertIn('| GPT-FL + FedAvg | lr 0.01 | 85.0 +- 5.0 | 0.800, 0.900 | '
                  '1.5; 2/2 | 0.0M |', table)
    self.assertIn('| FedOpt from scratch | lr 0.05, server lr 0.01 | 35.0 +- '
                  '5.0 | 0.300, 0.400 | -; 0/2 |  |', table)
    self.assertIn('| GPT-FL + FedOpt | lr 0.05, server lr 0.1 | 75.0 +- 5.0 |',
                  table)


if __name__ == '__main__':
  tf.test.main()
