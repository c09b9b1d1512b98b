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
"""Tests for gptfl_tff.finetuning.forms: a fine-tuning round in production form.

A tiny model (4 features, one Dense(3) layer) keeps compilation fast; what is
checked is where its tensors go, not what they are.
"""

import os
import re
from unittest import mock

from absl.testing import parameterized
import numpy as np
import tensorflow as tf
import tensorflow_federated as tff

from gptfl_tff import runtime
from gptfl_tff.finetuning import federated
from gptfl_tff.finetuning import forms

_SHAPE = (4,)
# The tiny model's update (kernel, bias) and one of its metrics, as they
# appear in a leaking slot's type.
_UPDATE = 'float32[4,3],float32[3]'
_METRIC = 'sparse_categorical_accuracy'


def _tiny_keras_model():
  return tf.keras.Sequential(
      [tf.keras.Input(_SHAPE), tf.keras.layers.Dense(3)]
  )


def _model_fn():
  return federated.create_tff_model_fn(_tiny_keras_model, _SHAPE)


def _process(secure):
  return federated.build_learning_process(
      _model_fn(), federated.ProcessConfig(secure=secure)
  )


def _mixed_process(model_aggregator, metrics_aggregator):
  return tff.learning.algorithms.build_weighted_fed_avg(
      _model_fn(),
      client_optimizer_fn=tff.learning.optimizers.build_sgdm(0.01),
      server_optimizer_fn=tff.learning.optimizers.build_sgdm(1.0),
      model_aggregator=model_aggregator,
      metrics_aggregator=metrics_aggregator,
  )


def _secure_model_aggregator():
  return tff.learning.secure_aggregator(
      zeroing=True, clipping=False, weighted=True
  )


class FormsTest(tf.test.TestCase, parameterized.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    runtime.set_default_context(runtime.ContextKind.TEST)

  def test_secure_round_passes_audit_and_uses_only_secure_sums(self):
    compiled = forms.audit(_process(secure=True).next)
    self.assertIsInstance(compiled, forms.CompiledRound)
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

  def test_audit_records_passes_only(self):
    cache = self.create_tempdir().full_path
    secure = _process(secure=True).next
    self.assertIsInstance(forms.audit(secure, cache), forms.CompiledRound)
    self.assertLen(os.listdir(os.path.join(cache, 'audits')), 1)
    with mock.patch.object(forms, 'compile_round',
                           side_effect=AssertionError('compiled again')):
      self.assertIsNone(forms.audit(secure, cache))
    # Another computation is compiled and, being plain, refused every time.
    for _ in range(2):
      with self.assertRaises(forms.InsecureAggregationError):
        forms.audit(_process(secure=False).next, cache)
    self.assertLen(os.listdir(os.path.join(cache, 'audits')), 1)

  def test_plain_round_is_flagged(self):
    compiled = forms.compile_round(_process(secure=False).next)
    problems = forms.insecure_paths(compiled)
    self.assertLen(problems, 2)
    self.assertIn('federated_aggregate slot', problems[0])
    self.assertIn(_UPDATE, problems[0])
    self.assertIn(_METRIC, problems[0])
    self.assertIn("['federated_sum']", problems[1])
    with self.assertRaisesRegex(forms.InsecureAggregationError, 'secure=True'):
      forms.check_secure(compiled)

  def test_audit_refuses_plain_round(self):
    with self.assertRaisesRegex(
        forms.InsecureAggregationError,
        'federated_aggregate slot(.|\n)*federated_sum',
    ):
      forms.audit(_process(secure=False).next)

  @parameterized.named_parameters(
      dict(
          testcase_name='secure_updates_plain_metrics',
          model_aggregator=_secure_model_aggregator,
          metrics_aggregator=tff.learning.metrics.sum_then_finalize,
          leaked=_METRIC,
          kept=_UPDATE,
      ),
      dict(
          testcase_name='plain_updates_secure_metrics',
          model_aggregator=tff.aggregators.MeanFactory,
          metrics_aggregator=tff.learning.metrics.secure_sum_then_finalize,
          leaked=_UPDATE,
          kept=_METRIC,
      ),
  )
  def test_half_secure_round_is_flagged(
      self, model_aggregator, metrics_aggregator, leaked, kept
  ):
    process = _mixed_process(model_aggregator(), metrics_aggregator)
    compiled = forms.compile_round(process.next)
    # The secure half does use secure sums; the other half must still show.
    self.assertEqual(
        forms.aggregation_intrinsics(compiled.distribute_aggregate_form),
        {'federated_sum', 'federated_secure_sum_bitwidth'},
    )
    problems = forms.insecure_paths(compiled)
    self.assertLen(problems, 2)
    self.assertIn('federated_aggregate slot', problems[0])
    self.assertIn(leaked, problems[0])
    self.assertNotIn(kept, problems[0])
    self.assertIn("['federated_sum']", problems[1])
    with self.assertRaisesRegex(
        forms.InsecureAggregationError, re.escape(leaked)
    ):
      forms.check_secure(compiled)

  @parameterized.parameters(True, False)
  def test_map_reduce_round_equals_round_as_written(self, secure):
    store = federated.ClientStore(self.create_tempdir().full_path, _SHAPE)
    rng = np.random.default_rng(0)
    for k in range(3):
      store.write(f'c{k}', rng.normal(size=(6 + k,) + _SHAPE),
                  rng.integers(0, 3, 6 + k))
    process = federated.build_learning_process(
        _model_fn(), federated.ProcessConfig(client_learning_rate=0.3,
                                             secure=secure))
    comp = federated.build_round_computation(
        process, federated.build_client_data_computation(_SHAPE, 2, 4))
    cache = self.create_tempdir().full_path
    as_written = forms.build_round(comp, forms.RoundForm.AS_WRITTEN)
    self.assertIs(as_written, comp)
    first = forms.build_round(comp, secure=secure, cache_dir=cache)
    # A second build loads the compiled form: nothing is compiled again.
    with mock.patch.object(
        tff.backends.mapreduce, 'get_map_reduce_form_for_computation',
        side_effect=AssertionError('compiled again')), mock.patch.object(
            forms, 'compile_round',
            side_effect=AssertionError('audited again')):
      second = forms.build_round(comp, secure=secure, cache_dir=cache)
    self.assertLen(os.listdir(os.path.join(cache, 'forms')), 1)
    # What runs is MRF's round: one federated_aggregate and one call of
    # each secure-sum slot (the modular one is MRF's alone); a secure round
    # as written has many more maps.
    counts = forms.intrinsic_counts(first)
    for uri in ['federated_aggregate', 'federated_secure_modular_sum',
                *forms.SECURE_INTRINSICS]:
      self.assertEqual(counts[uri], 1, uri)
    if secure:
      self.assertLess(counts['federated_map'],
                      forms.intrinsic_counts(comp)['federated_map'] / 5)
    self.assertEqual(first.type_signature, comp.type_signature)
    states = {}
    for name, fn in [('as_written', as_written), ('first', first),
                     ('second', second)]:
      state = process.initialize()
      for r in range(2):
        out = fn(state, [(store.path(f'c{k}'), 10 * r + k)
                         for k in range(3)])
        state = out.state
      states[name] = (process.get_model_weights(state).trainable,
                      out.metrics['client_work']['train'], state)
    self.assertNotAllClose(states['first'][0][0],
                           process.get_model_weights(
                               process.initialize()).trainable[0])
    for name in ('first', 'second'):
      for a, b in zip(states['as_written'][0], states[name][0]):
        self.assertAllEqual(a, b)
      self.assertEqual(states['as_written'][1], states[name][1])
      # The same Python structure, containers included (checkpoints of one
      # restore into the other).
      tf.nest.assert_same_structure(states['as_written'][2], states[name][2])
      self.assertEqual(type(states['as_written'][2]), type(states[name][2]))

  def test_map_reduce_round_is_audited_and_survives_a_damaged_cache(self):
    cache = self.create_tempdir().full_path
    plain = federated.build_round_computation(
        _process(secure=False),
        federated.build_client_data_computation(_SHAPE, 1, 4))
    with self.assertRaises(forms.InsecureAggregationError):
      forms.build_round(plain, secure=True, cache_dir=cache)
    self.assertFalse(os.path.exists(os.path.join(cache, 'forms')))
    forms.build_round(plain, cache_dir=cache)  # Not audited: compiled.
    (name,) = os.listdir(os.path.join(cache, 'forms'))
    path = os.path.join(cache, 'forms', name)
    with open(path, 'r+b') as f:
      f.seek(40)
      f.write(b'damaged')
    with self.assertLogs(level='WARNING') as logs:
      forms.build_round(plain, cache_dir=cache)
    self.assertIn('unreadable compiled form', logs.output[0])
    # It was compiled again and rewritten.
    self.assertIsInstance(
        forms.load_form(path, tff.backends.mapreduce.MapReduceForm,
                        plain.type_signature),
        tff.backends.mapreduce.MapReduceForm)

  def test_exported_round_loads_back_and_passes_the_audit(self):
    folder = self.create_tempdir().full_path
    process = _process(secure=True)
    state = process.initialize()
    forms.export_round(process.next, state, folder)
    self.assertCountEqual(os.listdir(folder), [
        forms.EXPORT_MRF, forms.EXPORT_DAF, forms.EXPORT_TYPE,
        forms.EXPORT_STATE])
    loaded, leaves = forms.load_round(folder)
    forms.check_secure(loaded)  # Audited from the files alone.
    self.assertTrue(loaded.map_reduce_form.type_signature.is_equivalent_to(
        process.next.type_signature))
    self.assertEqual(
        forms.aggregation_intrinsics(loaded.distribute_aggregate_form),
        {'federated_secure_sum_bitwidth'})
    want = tf.nest.flatten(state)
    self.assertLen(leaves, len(want))
    for got, expected in zip(leaves, want):
      self.assertAllEqual(got, expected)

  def test_export_refuses_a_plain_round_and_writes_nothing(self):
    folder = self.create_tempdir().full_path
    process = _process(secure=False)
    with self.assertRaises(forms.InsecureAggregationError):
      forms.export_round(process.next, process.initialize(), folder)
    self.assertEmpty(os.listdir(folder))
    # Exported without the audit, the loaded forms still show the leak.
    forms.export_round(process.next, process.initialize(), folder,
                       secure=False)
    loaded, _ = forms.load_round(folder)
    with self.assertRaises(forms.InsecureAggregationError):
      forms.check_secure(loaded)

  def test_intrinsic_uris_finds_nested_calls(self):
    client_int = tff.FederatedType(np.int32, tff.CLIENTS)

    @tff.federated_computation(client_int)
    def inner(x):
      return tff.federated_secure_sum_bitwidth(x, 8)

    @tff.federated_computation(client_int)
    def outer(x):
      return tff.federated_sum(x), inner(x), tff.federated_sum(x)

    self.assertEqual(
        forms.intrinsic_uris(inner), {'federated_secure_sum_bitwidth'}
    )
    self.assertEqual(
        forms.intrinsic_uris(outer),
        {'federated_sum', 'federated_secure_sum_bitwidth'},
    )
    counts = forms.intrinsic_counts(outer)
    self.assertEqual(counts['federated_sum'], 2)
    self.assertEqual(counts['federated_secure_sum_bitwidth'], 1)


if __name__ == '__main__':
  tf.test.main()
