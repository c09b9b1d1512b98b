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
"""Kill-and-resume check of a real federated run (docs/results.md).

  .venv/bin/python tools/resume_check.py --kill_during=12 --out=/tmp/rc -- \
      --data_dir=../shared/data/fsdd-5speakers.zip --rounds=30

Runs `experiments.federated_main` with the given flags uninterrupted
('whole'), then again ('killed'), sends SIGKILL once round `kill_during`
has started (metrics.csv holds `kill_during - 1` rounds), reruns the same
command, and prints the largest weight difference, both final test
accuracies, and whether metrics.csv holds every round exactly once.
"""

import argparse
import os
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def _start(flags, out, name, log):
  return subprocess.Popen(
      [sys.executable, '-m', 'experiments.federated_main', *flags,
       f'--root_output_dir={out}', f'--experiment_name={name}'],
      cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def _rounds(path):
  if not os.path.exists(path):
    return 0
  with open(path) as f:
    return max(0, len(f.read().splitlines()) - 1)


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('--kill_during', type=int, required=True)
  parser.add_argument('--out', required=True)
  parser.add_argument('flags', nargs='*')
  args = parser.parse_args()
  from gptfl_tff import console  # pylint: disable=g-import-not-at-top
  console.quiet_native_logs()
  import numpy as np  # pylint: disable=g-import-not-at-top
  from gptfl_tff import models  # pylint: disable=g-import-not-at-top
  from gptfl_tff.finetuning import training_loop  # pylint: disable=g-import-not-at-top
  os.makedirs(args.out, exist_ok=True)
  with open(os.path.join(args.out, 'log.txt'), 'a') as log:
    start = time.time()
    assert _start(args.flags, args.out, 'whole', log).wait() == 0
    whole_s = time.time() - start
    metrics = os.path.join(args.out, 'killed', 'federated', 'metrics.csv')
    child = _start(args.flags, args.out, 'killed', log)
    while _rounds(metrics) < args.kill_during - 1:
      assert child.poll() is None, 'the run ended before the kill'
      time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    checkpoints = sorted(os.listdir(os.path.dirname(metrics) +
                                    '/checkpoints'))
    start = time.time()
    assert _start(args.flags, args.out, 'killed', log).wait() == 0
    resume_s = time.time() - start
  results = {}
  for name in ('whole', 'killed'):
    folder = os.path.join(args.out, name, 'federated')
    results[name] = (
        models.load_initial_model(
            os.path.join(folder, 'final_model.keras')).get_weights(),
        training_loop.read_metrics(os.path.join(folder, 'metrics.csv')))
  diff = max(float(np.max(np.abs(a - b))) for a, b in zip(
      results['whole'][0], results['killed'][0]))
  rounds = [r['round'] for r in results['killed'][1]]
  print(f'killed during round {args.kill_during}; checkpoints then: '
        f'{checkpoints}')
  print(f'max |weight difference|: {diff:.3g}')
  print('final test accuracy: uninterrupted '
        f"{results['whole'][1][-1]['test_accuracy']}, resumed "
        f"{results['killed'][1][-1]['test_accuracy']}")
  print(f'metrics.csv rounds exactly 1..N once: '
        f'{rounds == list(range(1, len(rounds) + 1))} ({len(rounds)} rows)')
  print(f'wall: uninterrupted {whole_s:.0f} s, resumed part {resume_s:.0f} s')


if __name__ == '__main__':
  main()
