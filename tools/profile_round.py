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
"""Where a TFF round's time goes, per round and per client (results §2).

  .venv/bin/python tools/profile_round.py --clients=5,100

For the FSDD keyword model (281,674 parameters, random examples of the
FSDD feature shape), prints:

  * the fixed cost of a client call: rounds in which every client trains on
    one batch of 8, for each round form (MapReduceForm, as written with the
    iterator loop, as written with the reduce loop) and aggregation (wall
    and worker CPU seconds, per client);
  * the Python <-> worker round trip of the server state (an identity
    computation on the state's type);
  * the client-placed TensorFlow calls a round makes (federated maps and
    broadcasts in the executed computation), as written and as MRF, plain
    against secure;
  * the start-up before round 1: process build, compiling the round to the
    form that runs (with the audit when secure), initial state;
  * the time to the first round of a secure process from this program's
    start (5 clients x 400 examples, 2 epochs, batch 32); with
    `--cache_dir=DIR`, a second run finds the audit and the compiled form
    there.
"""

import time

_START = time.perf_counter()

# pylint: disable=g-import-not-at-top,wrong-import-position
import argparse
import os
import statistics
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('--clients', default='5,100')
  parser.add_argument('--rounds', type=int, default=3)
  parser.add_argument('--tables', default='fixed,startup,first_round')
  parser.add_argument('--cache_dir', default=None,
                      help='Audit and compiled-form cache folder; run twice '
                      'to time a hit.')
  args = parser.parse_args()
  tables = args.tables.split(',')
  from gptfl_tff import console  # pylint: disable=g-import-not-at-top
  console.quiet_native_logs()
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow_federated as tff  # pylint: disable=g-import-not-at-top
  from gptfl_tff import audio  # pylint: disable=g-import-not-at-top
  from gptfl_tff import models  # pylint: disable=g-import-not-at-top
  from gptfl_tff import runtime  # pylint: disable=g-import-not-at-top
  from gptfl_tff.finetuning import federated  # pylint: disable=g-import-not-at-top
  from gptfl_tff.finetuning import forms  # pylint: disable=g-import-not-at-top
  from gptfl_tff.orchestration import overhead  # pylint: disable=g-import-not-at-top

  shape = audio.FrontEndConfig().feature_shape  # FSDD's: (94, 128).
  model_fn = lambda: models.create_keyword_model(shape, 10, seed=0)
  runtime.set_default_context(runtime.ContextKind.TEST,
                              cache_dir=args.cache_dir)
  worker = runtime.get_worker()
  rows = []

  def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start

  @tff.tensorflow.computation(np.str_, np.int64)
  def one_batch(path, seed):
    return federated.make_client_dataset(path, seed, shape, 1, 8).take(1)

  rng = np.random.default_rng(0)
  if 'first_round' in tables:
    _first_round(model_fn, shape, rng, timed, args.cache_dir)
  for n in [int(v) for v in args.clients.split(',')] * ('fixed' in tables):
    store = federated.ClientStore(tempfile.mkdtemp(), shape)
    for c in range(n):
      store.write(f'c{c}', rng.normal(size=(8,) + shape),
                  rng.integers(0, 10, 8))
    # The variants the overhead benchmark times with --overhead_before.
    for variant in overhead.default_variants(before=True).values():
      config, form = variant.process, variant.form
      process = federated.build_learning_process(
          federated.create_tff_model_fn(model_fn, shape), config)
      round_fn = forms.build_round(
          federated.build_round_computation(process, one_batch), form)
      state = process.initialize()
      walls, cpus = [], []
      for r in range(args.rounds + 1):
        cpu = worker.cpu_seconds()
        out, wall = timed(lambda: round_fn(state, [
            (store.path(f'c{c}'), r) for c in range(n)]))
        state = out.state
        if r:
          walls.append(wall)
          cpus.append(worker.cpu_seconds() - cpu)
      wall, cpu = statistics.median(walls), statistics.median(cpus)
      rows.append([n, f'{form.value}, {config.client_loop.value} loop',
                   'secure' if config.secure else 'plain', wall, cpu,
                   wall * 1e3 / n, cpu * 1e3 / n])

  if rows:
    console.print_summary(
        'Fixed cost of client calls (every client trains on one batch of 8)',
        ['clients', 'round form', 'aggregation', 'round s', 'worker CPU s',
         'ms/client', 'CPU ms/client'], rows)

  rows = []
  for secure in (False, True) * ('startup' in tables):
    config = federated.ProcessConfig(secure=secure)
    (process, build_s) = timed(lambda: federated.build_learning_process(
        federated.create_tff_model_fn(model_fn, shape), config))
    state_type = process.next.type_signature.parameter[0]

    @tff.federated_computation(state_type)
    def identity(s):
      return s

    state, init_s = timed(process.initialize)
    identity(state)
    trips = [timed(lambda: identity(state))[1] for _ in range(5)]
    comp = federated.build_round_computation(process, one_batch)
    form_fn, form_s = timed(lambda: forms.build_round(comp, secure=secure))
    row = ['secure' if secure else 'plain', build_s, form_s, init_s,
           statistics.median(trips) * 1e3]
    for fn in (comp, form_fn):
      calls = forms.intrinsic_counts(runtime.compile_computation(fn))
      row += [calls.get('federated_map', 0)
              + calls.get('federated_map_all_equal', 0),
              calls.get('federated_broadcast', 0)]
    rows.append(row)
  if not rows:
    return
  console.print_summary(
      'Start-up and per-round fixed work',
      ['aggregation', 'build s', 'compile to MRF (and audit) s',
       'initialize s', 'state round trip ms', 'maps as written',
       'broadcasts as written', 'maps as MRF', 'broadcasts as MRF'], rows)


def _first_round(model_fn, shape, rng, timed, cache_dir):
  """Prints the phases before and of round 1."""
  from gptfl_tff.finetuning import federated  # pylint: disable=g-import-not-at-top
  from gptfl_tff.finetuning import forms  # pylint: disable=g-import-not-at-top
  rows = [['imports and worker start (from program start)',
           time.perf_counter() - _START]]
  store = federated.ClientStore(tempfile.mkdtemp(), shape)
  for c in range(5):
    store.write(f'c{c}', rng.normal(size=(400,) + shape),
                rng.integers(0, 10, 400))
  process, build_s = timed(lambda: federated.build_learning_process(
      federated.create_tff_model_fn(model_fn, shape),
      federated.ProcessConfig()))
  round_fn, form_s = timed(lambda: forms.build_round(
      federated.build_round_computation(
          process, federated.build_client_data_computation(shape, 2, 32)),
      secure=True, cache_dir=cache_dir))
  state, init_s = timed(lambda: federated.set_initial_weights(
      process, process.initialize(), model_fn()))
  out, first_s = timed(lambda: round_fn(state, [
      (store.path(f'c{c}'), c) for c in range(5)]))
  _, second_s = timed(lambda: round_fn(out.state, [
      (store.path(f'c{c}'), c + 5) for c in range(5)]))
  rows += [['build process', build_s],
           ['compile to MapReduceForm and audit', form_s],
           ['initial state', init_s],
           ['round 1 (compile and run)', first_s],
           ['time to the end of round 1', time.perf_counter() - _START],
           ['round 2', second_s]]
  from gptfl_tff import console  # pylint: disable=g-import-not-at-top
  console.print_summary('Time to the first round (secure, 5 clients)',
                        ['phase', 's'], rows)


if __name__ == '__main__':
  main()
