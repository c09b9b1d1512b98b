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

_SCAFFOLD = federated.Algorithm.SCAFFOLD


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
       '--proximal_strength > 0'),
  )
  def test_bad_combinations_name_their_flags(self, overrides, message):
    with flagsaver.flagsaver(**overrides):
      with self.assertRaisesRegex(app.UsageError, message):
        shared_flags.validate()

  def test_scaffold_with_plain_sgd_passes(self):
    with flagsaver.flagsaver(algorithm=_SCAFFOLD, client_momentum=0.0):
      shared_flags.validate()


if __name__ == '__main__':
  tf.test.main()
