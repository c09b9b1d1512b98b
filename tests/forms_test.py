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
"""Tests for gptfl_tff.forms: a fine-tuning round in production form."""

import tensorflow as tf

from gptfl_tff import federated
from gptfl_tff import forms
from gptfl_tff import models

_SHAPE = (94, 128)


def _process(secure):
  return federated.build_learning_process(
      federated.create_tff_model_fn(
          lambda: models.create_keyword_model(_SHAPE, 10), _SHAPE
      ),
      federated.ProcessConfig(secure=secure),
  )


class FormsTest(tf.test.TestCase):

  def test_secure_round_compiles_and_uses_only_secure_sums(self):
    compiled = forms.compile_round(_process(secure=True).next)
    mrf = compiled.map_reduce_form
    self.assertTrue(mrf.securely_aggregates_tensors)
    # Nothing in the plain federated_aggregate slot.
    self.assertEqual(len(mrf.work.type_signature.result[0]), 0)
    self.assertEqual(forms.insecure_paths(compiled), [])
    self.assertEqual(
        forms.aggregation_intrinsics(compiled.distribute_aggregate_form),
        {'federated_secure_sum_bitwidth'},
    )
    forms.check_secure(compiled)

  def test_plain_round_is_flagged(self):
    compiled = forms.compile_round(_process(secure=False).next)
    problems = forms.insecure_paths(compiled)
    self.assertLen(problems, 2)
    self.assertIn('federated_aggregate slot', problems[0])
    self.assertIn("['federated_sum']", problems[1])
    with self.assertRaisesRegex(forms.InsecureAggregationError, 'secure=True'):
      forms.check_secure(compiled)


if __name__ == '__main__':
  tf.test.main()
