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
"""Tests for gptfl_tff.prompting.expanders."""

import json

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from gptfl_tff.prompting import expanders
from gptfl_tff.prompting import prompts

_LABELS = ('airplane', 'truck', 'fire truck', 'cat')


class ExpandersTest(tf.test.TestCase, parameterized.TestCase):

  def _file(self, data):
    path = self.create_tempfile('prompts.json').full_path
    with open(path, 'w') as f:
      json.dump(data, f)
    return path

  @parameterized.named_parameters(
      ('artefacts', '<extra_id_0> a red airplane <extra_id_1> </s>',
       'a red airplane'),
      ('quotes_and_space', '  "A  cat on a mat."  ', 'A  cat on a mat.'
       .replace('  ', ' ')),
  )
  def test_clean(self, text, want):
    self.assertEqual(expanders.clean(text), want)

  @parameterized.named_parameters(
      ('named', 'Large commercial airplane in the blue sky', 'airplane',
       False),
      ('plural', 'Two trucks on a road', 'truck', False),
      ('missing', 'A plane parked next to a mountain', 'airplane', True),
      ('other_label', 'An airplane above a cat', 'airplane', True),
      ('part_of_own_name', 'A red fire truck at night', 'fire truck', False),
      ('longer_other_label', 'A truck beside a fire truck', 'truck', True),
      ('word_boundary', 'A catalogue photo of an airplane', 'airplane',
       False),
  )
  def test_drifts(self, text, label, want):
    self.assertEqual(expanders.drifts(text, label, _LABELS), want)

  def test_label_keys_match_the_authors_file_style(self):
    self.assertEqual(expanders.label_key('an Airplane'), 'airplane')
    self.assertEqual(expanders.label_key('fire_truck'), 'fire truck')

  def test_file_expander_filters_dedupes_and_gives_each_label_count(self):
    path = self._file({
        'an Airplane': ['an airplane in the sky', 'an airplane in the sky',
                        'a plane on the ground', '<pad> "old airplane"'],
        'a Truck': ['a truck'], 'a Fire Truck': ['a fire truck'],
        'a Cat': ['a cat', 'a cat and a truck'], 'a Dog': ['a dog']})
    expander = expanders.FileExpander(path, _LABELS)
    self.assertEqual(expander.kept['airplane'],
                     ['an airplane in the sky', 'old airplane'])
    self.assertEqual(expander.dropped, {'airplane': 2, 'truck': 0,
                                        'fire truck': 0, 'cat': 1})
    got = expander.expand('airplane', 5, np.random.default_rng(0))
    self.assertLen(got, 5)
    self.assertCountEqual(set(got), expander.kept['airplane'])
    self.assertEqual(got, expander.expand('airplane', 5,
                                          np.random.default_rng(0)))
    image = prompts.create_image_prompts(_LABELS, 3, seed=1,
                                         expander=expander)
    self.assertLen(image, 12)
    self.assertEqual({p.text for p in image if p.label == 'cat'}, {'a cat'})

  def test_file_errors_name_the_flag_and_the_label(self):
    with self.assertRaisesRegex(prompts.PromptError,
                                "--gen_prompt_file=.*'cat'"):
      expanders.FileExpander(self._file({'airplane': ['an airplane']}),
                             ('airplane', 'cat'))
    with self.assertRaisesRegex(prompts.PromptError, 'none of the 1'):
      expanders.FileExpander(self._file({'airplane': ['a plane'],
                                         'cat': ['a cat']}),
                             ('airplane', 'cat'))
    with self.assertRaisesRegex(prompts.PromptError, 'expected a JSON'):
      expanders.FileExpander(self._file(['airplane']), ('airplane',))

  def test_distinct_n_and_drift_rate(self):
    self.assertAllClose(expanders.distinct_n(['a b c', 'a b d']), 3 / 4)
    self.assertAllClose(expanders.distinct_n(['a b', 'a b']), 1 / 2)
    with self.assertRaises(ValueError):
      expanders.distinct_n(['a'])
    self.assertAllClose(expanders.drift_rate(
        {'airplane': ['an airplane', 'a plane'], 'cat': ['a cat']},
        ('airplane', 'cat')), 1 / 3)


if __name__ == '__main__':
  tf.test.main()
