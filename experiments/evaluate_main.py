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
r"""Scores a saved model on a task's validation and test splits.

  python -m experiments.evaluate_main \
      --model_file=/tmp/gptfl_tff/gptfl/federated/final_model.keras \
      --data_dir=../shared/data/fsdd-5speakers.zip --test_speakers=george

Prints loss and accuracy per split (and per test speaker) through the
project's one evaluator; --output_json also writes them. Data flags:
experiments/shared_flags.py.
"""

from absl import app
from absl import flags
import numpy as np

from experiments import shared_flags
from gptfl_tff import console
from gptfl_tff import evaluation
from gptfl_tff import io_utils
from gptfl_tff import models
from gptfl_tff.finetuning import federated_experiment

flags.adopt_module_key_flags(shared_flags)

_MODEL_FILE = flags.DEFINE_string(
    'model_file', None, 'Saved Keras model (.keras) to score.')
_OUTPUT_JSON = flags.DEFINE_string(
    'output_json', None, 'Also write the scores here.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  if not _MODEL_FILE.value:
    raise app.UsageError('Pass --model_file=PATH.keras.')
  shared_flags.validate()
  task = shared_flags.task()
  model = models.load_initial_model(_MODEL_FILE.value)
  splits = task.load(shared_flags.experiment_config('').data)
  named = federated_experiment.eval_splits(task, splits)
  if splits.test is not None:
    for group in sorted(set(splits.test.groups.tolist()) - {''}):
      keep = splits.test.groups == group
      named[f'test[{group}]'] = (named['test'][0][keep],
                                 named['test'][1][keep])
  scores = evaluation.evaluate(model, named)
  rows = [[name, len(y), scores[f'{name}_loss'], scores[f'{name}_accuracy']]
          for name, (_, y) in named.items()]
  console.print_summary(f'{_MODEL_FILE.value} on {task.name}',
                        ['split', 'examples', 'loss', 'accuracy'], rows)
  if _OUTPUT_JSON.value:
    io_utils.atomic_write_json(_OUTPUT_JSON.value, dict(
        scores, examples={n: int(np.size(y)) for n, (_, y) in named.items()}))


if __name__ == '__main__':
  console.run(main)
