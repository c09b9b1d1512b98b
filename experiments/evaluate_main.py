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
r"""Scores a saved keyword model on any FSDD-format data folder or archive.

  python -m experiments.evaluate_main \
      --model=/tmp/gptfl/gptfl/federated/final_model.keras \
      --data_dir=/path/to/recordings --speakers=theo --min_index=0 --max_index=4

Prints accuracy and loss (and per-speaker accuracy) as JSON; --output_json
also writes them to a file.
"""

import json
import os

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

from gptfl_tff import audio
from gptfl_tff import io_utils
from gptfl_tff import pretrain
from gptfl_tff.tasks import fsdd

_MODEL = flags.DEFINE_string('model', None, 'Saved Keras model (.keras).')
_DATA_DIR = flags.DEFINE_string(
    'data_dir', None, 'Folder or archive of {digit}_{speaker}_{index}.wav; '
    'defaults to $GPTFL_DATA_DIR.')
_SPEAKERS = flags.DEFINE_list('speakers', [], 'Keep only these speakers.')
_MIN_INDEX = flags.DEFINE_integer('min_index', 0, 'Lowest take index kept.')
_MAX_INDEX = flags.DEFINE_integer('max_index', 10**9, 'Highest index kept.')
_OUTPUT_JSON = flags.DEFINE_string('output_json', None, 'Also write here.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  if not _MODEL.value or not os.path.exists(_MODEL.value):
    raise app.UsageError(f'--model {_MODEL.value!r} does not exist.')
  if _MIN_INDEX.value > _MAX_INDEX.value:
    raise app.UsageError('--min_index must be <= --max_index.')
  data = fsdd.create_feature_set(_DATA_DIR.value, audio.FrontEndConfig())
  keep = (data.indices >= _MIN_INDEX.value) & (data.indices <= _MAX_INDEX.value)
  if _SPEAKERS.value:
    unknown = sorted(set(_SPEAKERS.value) - set(data.speakers.tolist()))
    if unknown:
      raise app.UsageError(f'Unknown speakers {unknown}; the data has '
                           f'{sorted(set(data.speakers.tolist()))}.')
    keep &= np.isin(data.speakers, _SPEAKERS.value)
  data = data.subset(keep)
  if not len(data):
    raise app.UsageError('No recording matches the speaker/index filters.')
  model = tf.keras.models.load_model(_MODEL.value, compile=False)
  logits = model.predict(data.features, batch_size=256, verbose=0)
  result = pretrain.metrics_from_logits(logits, data.labels)
  preds = np.argmax(logits, -1)
  result['examples'] = len(data)
  result['per_speaker_accuracy'] = {
      s: float(np.mean(preds[data.speakers == s]
                       == data.labels[data.speakers == s]))
      for s in sorted(set(data.speakers.tolist()))
  }
  print(json.dumps(result, indent=2))
  if _OUTPUT_JSON.value:
    io_utils.atomic_write_json(_OUTPUT_JSON.value, result)


if __name__ == '__main__':
  app.run(main)
