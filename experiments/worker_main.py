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
r"""Starts a TFF worker for multi-machine simulations, or checks workers.

On each worker machine (the client data must be on storage it can read):

  python -m experiments.worker_main --worker_port=8000

From the driver, before a run:

  python -m experiments.worker_main --workers=host1:8000,host2:8000

Then pass the same --workers (and a shared --client_store_dir) to
federated_main, gptfl_main or benchmark_main: each round's clients are split
across the workers and their partial aggregates merged
(`runtime.WorkerPool`).

Trust model: a worker serves unauthenticated, unencrypted gRPC and runs any
TensorFlow graph it is sent, file reads included. Start it only on a private
network the driver alone can reach, or behind an SSH or WireGuard tunnel.
Flags: experiments/shared_flags.py.
"""

from absl import app
from absl import flags

from experiments import shared_flags
from gptfl_tff import console
from gptfl_tff import runtime

flags.adopt_module_key_flags(shared_flags)

_WORKER_PORT = flags.DEFINE_integer(
    'worker_port', None,
    'Serve a TFF worker on this port of all interfaces of this machine '
    '(runs until stopped); unset: check the --workers instead.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  shared_flags.validate()
  workers = flags.FLAGS.workers
  if _WORKER_PORT.value is not None:
    if not 0 < _WORKER_PORT.value < 65536:
      raise app.UsageError(
          f'--worker_port must be in 1..65535; got {_WORKER_PORT.value}.')
    print(f'TFF worker on port {_WORKER_PORT.value} of all interfaces '
          '(unauthenticated gRPC: a private network only). Ctrl-C stops it.',
          flush=True)
    runtime.serve_worker(_WORKER_PORT.value, flags.FLAGS.clients_in_parallel)
  if not workers:
    raise app.UsageError(
        'Pass --worker_port=P to start a worker, or --workers=HOST:PORT,... '
        'to check running ones.')
  missing = set(runtime.unreachable_workers(workers))
  console.print_summary(
      'TFF workers', ['address', 'reachable'],
      [[w, 'no' if w in missing else 'yes'] for w in workers])
  if missing:
    raise runtime.unreachable_error([w for w in workers if w in missing])


if __name__ == '__main__':
  console.run(main)
