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
r"""Benchmark: TFF round time / plain local-training time (FL overhead).

  python -m experiments.overhead_main \
      --data_dir=../shared/data/fsdd-5speakers.zip

Workload: FSDD index split, one client per speaker (5), all per round,
1 local epoch, batch 32. Writes overhead.json under
{root_output_dir}/{experiment_name}/ and prints a table.
"""

import dataclasses
import os
import tempfile

from absl import app
from absl import flags

from gptfl_tff import audio
from gptfl_tff import federated
from gptfl_tff import io_utils
from gptfl_tff import models
from gptfl_tff import overhead
from gptfl_tff import partition
from gptfl_tff.tasks import fsdd

_DATA_DIR = flags.DEFINE_string('data_dir', None, 'FSDD folder or archive.')
_CACHE_DIR = flags.DEFINE_string(
    'cache_dir', os.path.join(os.path.expanduser('~'), '.cache', 'gptfl_tff'),
    'Feature cache folder.')
_ROUNDS = flags.DEFINE_integer('rounds', 5, 'Measured rounds (median).')
_CLIENT_EPOCHS = flags.DEFINE_integer('client_epochs', 1, 'Local epochs.')
_CLIENT_BATCH_SIZE = flags.DEFINE_integer('client_batch_size', 32, 'Batch.')
_CLIENTS_IN_PARALLEL = flags.DEFINE_integer(
    'clients_in_parallel', -1, 'Worker concurrency (<= 0: no limit).')
_ROOT_OUTPUT_DIR = flags.DEFINE_string(
    'root_output_dir', '/tmp/gptfl_tff', 'Root of all run outputs.')
_EXPERIMENT_NAME = flags.DEFINE_string(
    'experiment_name', 'overhead', 'Subfolder of this run.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  if _ROUNDS.value < 1:
    raise app.UsageError('--rounds must be >= 1.')
  train, _ = fsdd.split_by_index(fsdd.create_feature_set(
      _DATA_DIR.value, audio.FrontEndConfig(), _CACHE_DIR.value or None))
  shape = train.features.shape[1:]
  keras_model_fn = lambda: models.create_keyword_model(
      shape, fsdd.NUM_CLASSES, seed=0)
  results = {}
  with tempfile.TemporaryDirectory() as tmp:
    store = federated.ClientStore(tmp, shape)
    for c, idx in partition.natural(train.speakers).items():
      store.write(c, train.features[idx], train.labels[idx])
    for secure in (False, True):
      r = overhead.measure(
          keras_model_fn, store, federated.ProcessConfig(secure=secure),
          _CLIENT_EPOCHS.value, _CLIENT_BATCH_SIZE.value, _ROUNDS.value,
          _CLIENTS_IN_PARALLEL.value)
      name = 'secure' if secure else 'plain'
      results[name] = dict(
          dataclasses.asdict(r), tff_median=r.tff_median,
          serial_floor_median=r.serial_floor_median,
          parallel_floor_median=r.parallel_floor_median,
          tff_python_datasets_median=r.tff_python_datasets_median,
          serial_ratio=r.serial_ratio, parallel_ratio=r.parallel_ratio,
          python_datasets_parallel_ratio=r.python_datasets_parallel_ratio)
      print(f'{name}: TFF {r.tff_median:.3f}s | serial floor '
            f'{r.serial_floor_median:.3f}s (ratio {r.serial_ratio:.3f}) | '
            f'parallel floor ({r.threads} threads) '
            f'{r.parallel_floor_median:.3f}s (ratio {r.parallel_ratio:.3f}) | '
            f'TFF with Python datasets {r.tff_python_datasets_median:.3f}s '
            f'(ratio {r.python_datasets_parallel_ratio:.3f})')
  io_utils.atomic_write_json(
      os.path.join(_ROOT_OUTPUT_DIR.value, _EXPERIMENT_NAME.value,
                   'overhead.json'), results)


if __name__ == '__main__':
  app.run(main)
