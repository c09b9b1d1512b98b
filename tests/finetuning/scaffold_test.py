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
"""Tests for SCAFFOLD: a hand-written reference, client state, resume."""

import os

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from gptfl_tff import errors
from gptfl_tff import runtime
from gptfl_tff.finetuning import federated
from gptfl_tff.finetuning import forms
from gptfl_tff.finetuning import privacy
from gptfl_tff.finetuning import scaffold
from gptfl_tff.finetuning import training_loop

_SHAPE = (4,)


def _keras_model():
  return tf.keras.Sequential([
      tf.keras.Input(_SHAPE),
      tf.keras.layers.Dense(3, kernel_initializer='glorot_uniform',
                            bias_initializer='zeros')])


def _client_arrays(seed, n):
  """Three separable classes, a different mix per client."""
  rng = np.random.default_rng(seed)
  y = rng.integers(0, 3, n).astype(np.int32)
  x = rng.normal(0, 0.5, (n,) + _SHAPE).astype(np.float32)
  x[np.arange(n), y] += 1.0 + seed
  return x, y


def _config(secure, lr=0.3):
  return federated.ProcessConfig(
      algorithm=federated.Algorithm.SCAFFOLD, client_learning_rate=lr,
      client_momentum=0.0, secure=secure)


def _reference_rounds(start, clients, lr, epochs, batch_size, population,
                      rounds, correct=True):
  """SCAFFOLD option II by hand (see `scaffold`); round r's data seed r.

  With `correct=False` the client steps skip the correction: FedAvg.
  """
  loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
  model = _keras_model()
  x_server = [w.copy() for w in start]
  c = [np.zeros_like(w) for w in start]
  own = {k: [np.zeros_like(w) for w in start] for k in range(len(clients))}
  for r in range(1, rounds + 1):
    updates, counts, total_dc = [], [], [np.zeros_like(w) for w in start]
    for k, (x, y) in enumerate(clients):
      model.set_weights(x_server)
      order = federated.client_order(r, len(y), epochs).numpy()
      steps = 0
      for i in range(0, len(order), batch_size):
        batch = order[i:i + batch_size]
        steps += 1
        with tf.GradientTape() as tape:
          loss = loss_fn(y[batch], model(x[batch]))
        grads = tape.gradient(loss, model.trainable_weights)
        for w, g, ci, cs in zip(model.trainable_weights, grads, own[k], c):
          w.assign(w - lr * (g.numpy() - (ci - cs if correct else 0)))
      update = [a - w.numpy() for a, w in zip(x_server, model.weights)]
      new_own = [ci - cs + u / (steps * lr)
                 for ci, cs, u in zip(own[k], c, update)]
      for t, n, o in zip(total_dc, new_own, own[k]):
        t += n - o
      own[k] = new_own
      updates.append(update)
      counts.append(len(y))
    mean = [sum(n * u[i] for n, u in zip(counts, updates)) / sum(counts)
            for i in range(len(start))]
    x_server = [w - m for w, m in zip(x_server, mean)]
    c = [cs + t / population for cs, t in zip(c, total_dc)]
  return x_server, c, own


class ScaffoldTest(tf.test.TestCase, parameterized.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    runtime.set_default_context(runtime.ContextKind.TEST)

  @parameterized.named_parameters(('plain', False, 1e-5),
                                  ('secure', True, 1e-4))
  def test_matches_a_hand_written_reference(self, secure, atol):
    # Two clients of a population of three, 6 and 4 steps a round, three
    # rounds: control variates, their files and N all take part.
    lr, epochs, batch_size, population, rounds = 0.3, 2, 3, 3, 3
    clients = [_client_arrays(1, 8), _client_arrays(2, 5)]
    root = self.create_tempdir().full_path
    store = federated.ClientStore(root, _SHAPE)
    for k, (x, y) in enumerate(clients):
      store.write(f'c{k}', x, y)
    process = federated.build_learning_process(
        federated.create_tff_model_fn(_keras_model, _SHAPE), _config(secure,
                                                                     lr),
        population=population)
    round_fn = federated.build_round_computation(
        process, federated.build_client_data_computation(_SHAPE, epochs,
                                                         batch_size))
    tf.keras.utils.set_random_seed(3)
    model = _keras_model()
    start = [w.numpy() for w in model.weights]
    state = federated.set_initial_weights(process, process.initialize(),
                                          model)
    states = scaffold.ClientStates(os.path.join(root, 'state'), 0)
    for r in range(1, rounds + 1):
      state = round_fn(state, [
          (store.path(f'c{k}'), r) + states.paths(f'c{k}', r)
          for k in range(len(clients))]).state
    want_x, want_c, want_own = _reference_rounds(
        start, clients, lr, epochs, batch_size, population, rounds)
    got_x = process.get_model_weights(state).trainable
    self.assertLen(got_x, 2)
    for got, want in zip(got_x, want_x):
      self.assertAllClose(got, want, atol=atol)
    self.assertLen(state.client_work['control'], 2)
    for got, want in zip(state.client_work['control'], want_c):
      self.assertAllClose(got, want, atol=atol)
    # Without the control variates (FedAvg), the weights differ: the
    # reference's correction matters at this tolerance.
    fedavg_x, _, _ = _reference_rounds(start, clients, lr, epochs,
                                       batch_size, population, rounds,
                                       correct=False)
    self.assertNotAllClose(fedavg_x[0], want_x[0], atol=100 * atol)
    self.assertNotAllClose(want_c[0], np.zeros_like(want_c[0]))
    for k in range(len(clients)):
      path = states.paths(f'c{k}', rounds + 1)[0]
      self.assertEndsWith(path, f'c{k}.r{rounds:06d}')
      for got, want in zip(scaffold.load_state(path, model.weights),
                           want_own[k]):
        self.assertAllClose(got, want, atol=atol)

  def test_map_reduce_round_passes_the_audit_and_equals_the_round(self):
    process = federated.build_learning_process(
        federated.create_tff_model_fn(_keras_model, _SHAPE),
        _config(secure=True), population=4)
    as_written = federated.build_round_computation(
        process, federated.build_client_data_computation(_SHAPE, 1, 4))
    cache = self.create_tempdir().full_path
    compiled = forms.audit(as_written, cache)
    self.assertEqual(forms.insecure_paths(compiled), [])
    self.assertEqual(
        forms.aggregation_intrinsics(compiled.distribute_aggregate_form),
        {'federated_secure_sum_bitwidth'})
    # The form a simulation runs: its clients must write their states too.
    map_reduce = forms.build_round(as_written, forms.RoundForm.MAP_REDUCE,
                                   secure=True, cache_dir=cache)
    store = federated.ClientStore(self.create_tempdir().full_path, _SHAPE)
    for k in range(3):
      store.write(f'c{k}', *_client_arrays(k, 6))
    tf.keras.utils.set_random_seed(0)
    initial = federated.set_initial_weights(
        process, process.initialize(), _keras_model())
    results = []
    for round_fn in (as_written, map_reduce):
      states = scaffold.ClientStates(self.create_tempdir().full_path, 0)
      state = initial
      for r in (1, 2):
        state = round_fn(state, [(store.path(c), r) + states.paths(c, r)
                                 for c in sorted(store.sizes)]).state
      results.append(tf.nest.flatten(
          [state.global_model_weights.trainable, state.client_work['control'],
           scaffold.load_state(states.paths('c0', 3)[0],
                               state.client_work['control'])]))
    self.assertLen(results[0], 6)
    for a, b in zip(*results):
      self.assertAllEqual(a, b)
    self.assertNotAllClose(results[0][4], np.zeros_like(results[0][4]))

  def test_client_states_name_index_and_prune(self):
    root = self.create_tempdir().full_path
    states = scaffold.ClientStates(root, 0)
    self.assertEqual(states.paths('a', 1), ('', os.path.join(root,
                                                             'a.r000001')))
    for r in (1, 3, 4):
      open(os.path.join(root, f'a.r{r:06d}'), 'w').close()
    states.paths('a', 3)
    states.paths('a', 4)
    open(os.path.join(root, 'a.r000004'), 'w').close()
    # Resuming after round 3: round 4's file is a replayed round's.
    states = scaffold.ClientStates(root, 3)
    self.assertEqual(sorted(os.listdir(root)), ['a.r000001', 'a.r000003'])
    self.assertEqual(states.paths('a', 4)[0], os.path.join(root, 'a.r000003'))
    self.assertEqual(states.paths('b', 4)[0], '')
    open(os.path.join(root, 'a.r000004'), 'w').close()  # Round 4 ran.
    states.prune(4)
    self.assertEqual(sorted(os.listdir(root)), ['a.r000004'])
    self.assertEqual(states.paths('a', 5)[0], os.path.join(root, 'a.r000004'))
    # A state the workers wrote where this process cannot see it.
    states.paths('z', 5)
    with self.assertRaisesRegex(errors.UserError, 'z.r000005 is missing'):
      states.paths('z', 6)
    os.remove(os.path.join(root, 'a.r000004'))
    open(os.path.join(root, 'notes.txt'), 'w').close()
    with self.assertRaisesRegex(errors.UserError, 'notes.txt'):
      scaffold.ClientStates(root, 4)

  def test_config_needs_plain_sgd_and_no_dp(self):
    with self.assertRaisesRegex(ValueError, 'client_momentum=0'):
      federated.ProcessConfig(algorithm=federated.Algorithm.SCAFFOLD)
    with self.assertRaisesRegex(ValueError, '--target_epsilon'):
      federated.ProcessConfig(
          algorithm=federated.Algorithm.SCAFFOLD, client_momentum=0.0,
          dp=privacy.DPConfig(noise_multiplier=1.0))
    with self.assertRaisesRegex(ValueError, 'population'):
      federated.build_learning_process(
          federated.create_tff_model_fn(_keras_model, _SHAPE),
          _config(secure=False))

  def test_a_killed_run_resumes_to_the_uninterrupted_weights(self):
    # The run dies during round 3, after a client that sits out round 3
    # but takes part in round 4 has left a state file of round 3.
    ids = [f'c{k}' for k in range(4)]
    seed, late = next(
        (s, sorted(set(training_loop.sample_clients(ids, 2, s, 4)) -
                   set(training_loop.sample_clients(ids, 2, s, 3))))
        for s in range(20)
        if set(training_loop.sample_clients(ids, 2, s, 4)) -
        set(training_loop.sample_clients(ids, 2, s, 3)))
    store = federated.ClientStore(self.create_tempdir().full_path, _SHAPE)
    for k, c in enumerate(ids):
      store.write(c, *_client_arrays(k, 6))
    process = federated.build_learning_process(
        federated.create_tff_model_fn(_keras_model, _SHAPE),
        _config(secure=True, lr=0.2), population=len(ids))
    round_fn = federated.build_round_computation(
        process, federated.build_client_data_computation(_SHAPE, 1, 4))
    tf.keras.utils.set_random_seed(0)
    initial = federated.set_initial_weights(
        process, process.initialize(), _keras_model())

    def simulate(output_dir, rounds):
      return training_loop.run(
          process, round_fn, store, initial, training_loop.LoopConfig(
              rounds=rounds, clients_per_round=2, output_dir=output_dir,
              checkpoint_every=1, seed=seed), fingerprint='scaffold')

    whole, _ = simulate(self.create_tempdir().full_path, 4)
    out = self.create_tempdir().full_path
    simulate(out, 2)
    state_dir = os.path.join(out, 'client_state')
    with open(os.path.join(state_dir, f'{late[0]}.r000003'), 'wb') as f:
      f.write(tf.io.serialize_tensor(tf.fill([15], 9.0)).numpy())
    resumed, rows = simulate(out, 4)
    self.assertEqual([r['round'] for r in rows], [1, 2, 3, 4])
    for a, b in zip(tf.nest.flatten(whole.global_model_weights.trainable),
                    tf.nest.flatten(resumed.global_model_weights.trainable)):
      self.assertAllEqual(a, b)
    for a, b in zip(whole.client_work['control'],
                    resumed.client_work['control']):
      self.assertAllEqual(a, b)
    # Kept: what a resume from either kept checkpoint (rounds 3 and 4)
    # reads, i.e. each client's newest state up to round 3, and round 4's.
    want = set()
    for c in ids:
      took = [r for r in range(1, 5)
              if c in training_loop.sample_clients(ids, 2, seed, r)]
      want |= {f'{c}.r{r:06d}' for r in took
               if r > 3 or r == max([0] + [t for t in took if t <= 3])}
    self.assertCountEqual(os.listdir(state_dir), want)


if __name__ == '__main__':
  tf.test.main()
