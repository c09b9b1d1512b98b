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
"""Tests for gptfl_tff.models."""

import numpy as np
import tensorflow as tf

from gptfl_tff import models


class ModelsTest(tf.test.TestCase):

  def test_keyword_model_architecture(self):
    model = models.create_keyword_model((94, 128), 10)
    self.assertEqual(model.output_shape, (None, 10))
    # Conv1D(64,3) 24,640 + Conv1D(128,3) 24,704 + BiGRU(128) 198,144
    # + Dense(128) 32,896 + Dense(10) 1,290.
    self.assertEqual(model.count_params(), 281_674)
    kinds = [type(l).__name__ for l in model.layers]
    self.assertEqual(kinds, [
        'InputLayer', 'Conv1D', 'MaxPooling1D', 'Conv1D', 'MaxPooling1D',
        'Dropout', 'Bidirectional', 'GlobalAveragePooling1D', 'Dense',
        'Dense',
    ])

  def test_seed_fixes_initial_weights(self):
    a = models.create_keyword_model((20, 8), 3, seed=1).get_weights()
    b = models.create_keyword_model((20, 8), 3, seed=1).get_weights()
    c = models.create_keyword_model((20, 8), 3, seed=2).get_weights()
    for x, y in zip(a, b):
      self.assertAllEqual(x, y)
    self.assertFalse(np.array_equal(a[0], c[0]))


if __name__ == '__main__':
  tf.test.main()
