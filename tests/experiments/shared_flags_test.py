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
"""Tests for experiments.shared_flags's checks, in process.

The binaries' exit code and one-line error are checked in their own tests.
"""

from absl import app
from absl import flags
from absl.testing import flagsaver
from absl.testing import parameterized
import tensorflow as tf

from experiments import shared_flags
from gptfl_tff.finetuning import federated
from gptfl_tff.generators import registry
from gptfl_tff.prompting import llm

_SCAFFOLD = federated.Algorithm.SCAFFOLD
# An image task whose generator needs no weights.
_IMAGE = dict(task='cifar10', gen_backend=registry.Backend.TINY_DIFFUSERS)


class SharedFlagsTest(tf.test.TestCase, parameterized.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    if not flags.FLAGS.is_parsed():
      flags.FLAGS.mark_as_parsed()

  @parameterized.named_parameters(
      ('two_dp_noise_settings', dict(dp_noise_multiplier=1.0,
                                     target_epsilon=3.0),
       '--dp_noise_multiplier.*--target_epsilon|--target_epsilon.*'
       '--dp_noise_multiplier'),
      ('scaffold_with_momentum', dict(algorithm=_SCAFFOLD,
                                      client_momentum=0.9),
       '--client_momentum=0'),
      ('scaffold_with_dp', dict(algorithm=_SCAFFOLD, client_momentum=0.0,
                                dp_noise_multiplier=1.0),
       'fedavg only'),
      ('fedprox_without_mu', dict(algorithm=federated.Algorithm.FEDPROX,
                                  proximal_strength=0.0),
       '--proximal_strength > 0.*--algorithm=fedavg'),
      ('fedopt_with_server_sgd', dict(
          algorithm=federated.Algorithm.FEDOPT,
          server_optimizer=federated.ServerOptimizer.SGD),
       '--server_optimizer=adam or yogi.*--algorithm=fedavg'),
  )
  def test_bad_combinations_name_their_flags(self, overrides, message):
    with flagsaver.flagsaver(**overrides):
      with self.assertRaisesRegex(app.UsageError, message):
        shared_flags.validate()

  def test_scaffold_with_plain_sgd_passes(self):
    with flagsaver.flagsaver(algorithm=_SCAFFOLD, client_momentum=0.0):
      shared_flags.validate()

  def test_llm_flags_build_the_backend_or_name_the_missing_one(self):
    url = 'http://localhost:8000/v1'
    http = llm.Kind.HTTP
    with flagsaver.flagsaver(gen_llm=http, gen_llm_url=url, gen_llm_model='m',
                             gen_llm_temperature=0.5, **_IMAGE):
      config = shared_flags.chain_config(self.create_tempdir().full_path)
    self.assertEqual(config.prompt_llm,
                     llm.HttpBackend(url, 'm', temperature=0.5))
    self.assertEqual(flags.FLAGS['gen_llm'].parser.parse('keras_nlp'),
                     llm.Kind.KERAS_NLP)
    with flagsaver.flagsaver(gen_llm=llm.Kind.KERAS_NLP,
                             gen_llm_dir='gpt2_base_en', **_IMAGE):
      config = shared_flags.chain_config(self.create_tempdir().full_path)
    self.assertEqual(config.prompt_llm, llm.KerasNlpBackend('gpt2_base_en'))
    for given, message in [
        (dict(gen_llm_model='m'), '--gen_llm_model configure --gen_llm; '
         r'give it \(smollm2, transformers, t5, keras_nlp, http\)'),
        (dict(gen_llm_temperature=0.2), '--gen_llm_temperature configure'),
        (dict(gen_llm=http, gen_llm_url=url), '--gen_llm_model'),
        (dict(gen_llm=http, gen_llm_url=url, gen_llm_model='m',
              gen_llm_dir='/x'), '--gen_llm_dir do not apply'),
        (dict(gen_llm=llm.Kind.TRANSFORMERS), 'needs --gen_llm_dir'),
        (dict(gen_llm=llm.Kind.TRANSFORMERS, gen_llm_dir='/no/such'),
         '--gen_llm_dir=/no/such is not a transformers model folder'),
        (dict(gen_llm=llm.Kind.KERAS_NLP, gen_llm_dir='/no/such'),
         '--gen_llm_dir=/no/such is not a folder'),
        (dict(task='fsdd', gen_backend=None, gen_llm=http, gen_llm_url=url,
              gen_llm_model='m'), 'apply to image and sound tasks')]:
      with self.subTest(str(given)):
        with flagsaver.flagsaver(**dict(_IMAGE, **given)):
          with self.assertRaisesRegex(app.UsageError, message):
            shared_flags.chain_config(self.create_tempdir().full_path)
    with flagsaver.flagsaver(**_IMAGE):
      self.assertIsNone(shared_flags.chain_config(
          self.create_tempdir().full_path).prompt_llm)


if __name__ == '__main__':
  tf.test.main()
