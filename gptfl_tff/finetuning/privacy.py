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
"""User-level differential privacy for federated fine-tuning (DP-FedAvg).

Beyond the paper, which does not use DP: GPT-FL's fine-tuning (Sec. 3.3) is
standard FL, so it takes DP-FedAvg (McMahan et al. 2018, "Learning
differentially private recurrent language models") as any FL run does.

The mechanism (`build_dp_factory`), per round:

  1. each sampled client clips its model update (the difference between its
     trained weights and the round's start) to L2 norm `clip`; with adaptive
     clipping, `clip` follows the `target_quantile` of client update norms
     (Andrew et al. 2021), estimated from noised counts;
  2. the clipped updates are summed with secure aggregation: each
     coordinate, bounded by the clip, is quantised to 32 bits and added with
     `tff.federated_secure_sum_bitwidth` (`tff.aggregators.SecureSumFactory`
     as the record aggregation of
     `tff.aggregators.DifferentiallyPrivateFactory`);
     the server sees only the sum;
  3. the server adds Gaussian noise of standard deviation
     `noise_multiplier * clip` to the sum and divides by the number of
     clients a round samples (fixed, so the mean is a function of the noised
     sum only). The update is unweighted: a client's weight cannot depend on
     its data size without raising the sensitivity.

Trust model: central DP. The server adds the noise, and secure aggregation
keeps individual updates from it; the released model is (epsilon, delta)-DP
with respect to adding or removing (full participation) or replacing
(sampled rounds) all of one client's data. The training metrics (loss,
accuracy) are summed securely but not noised, and the gradient-diversity
measurement is turned off under DP; neither is covered by the guarantee.

Noise is drawn from a stateless generator keyed by `noise_seed` and a round
counter kept in the aggregator's state, so a resumed run draws the same noise
as an uninterrupted one. In simulation the seed is the run's `--seed`, which
is public: the guarantee then holds against an adversary who does not know
the seed (nor the seeded client sampling), as in any seeded simulation. The
seed lives in the server state; an exported production round gets a seed
drawn from the operating system's secret randomness (`secret_seed`), which
must stay as secret as the noise. Adaptive clipping uses TensorFlow
Privacy's own quantile query, whose noise is not seeded: a resumed adaptive
run is equally private but not bit-identical.

Accounting (`epsilon`, `noise_for_epsilon`) follows the sampling the
simulation actually does (`training_loop.sample_clients`):

  * all clients every round: `rounds` compositions of the Gaussian
    mechanism, add-or-remove-one adjacency (sensitivity `clip`); RDP or PLD;
  * `clients_per_round` of `total_clients` drawn uniformly without
    replacement: the subsampled Gaussian of Wang, Balle and Kasiviswanathan
    (2019), replace-one adjacency, under which the sum's sensitivity is
    `2 * clip`, so the accounted noise multiplier is `noise_multiplier / 2`.
    RDP only: `dp_accounting`'s PLD accountant has no fixed-size sampling
    without replacement, and accounting it as Poisson sampling would
    understate epsilon.
"""

import collections
import dataclasses
import enum
import secrets
from typing import Optional

import dp_accounting
import tensorflow as tf
import tensorflow_federated as tff
import tensorflow_privacy as tfp

# With adaptive clipping the clip moves, so the secure sum's per-coordinate
# range is this multiple of the initial clip. A coordinate outside it is
# clamped, which never increases a record's norm (so never its privacy
# loss). 32-bit quantisation rounds each coordinate to within 2^-32 of the
# range: it can raise a record's norm by at most sqrt(d) times that, below
# 1e-6 of the clip for the models here, which the accounting ignores.
_ADAPTIVE_SECURE_RANGE = 100.0
# Adaptive clipping's clip learning rate (geometric update), TFF's default.
_ADAPTIVE_LEARNING_RATE = 0.2
# Noise multipliers `noise_for_epsilon` searches (PLD discretisation of far
# smaller noise does not fit in memory).
_MIN_NOISE = 0.1
_MAX_NOISE = 1000.0


class Accountant(enum.Enum):
  """Privacy accountants of `dp_accounting`."""

  RDP = 'rdp'  # Renyi DP (Mironov 2017), with the improved conversion.
  PLD = 'pld'  # Privacy loss distributions (tight; full participation).


@dataclasses.dataclass(frozen=True)
class DPConfig:
  """User-level DP-FedAvg settings.

  Attributes:
    noise_multiplier: Noise standard deviation over the clip. `None`: chosen
      by `noise_for_epsilon` from `target_epsilon` when the run knows its
      client count (`resolve`).
    target_epsilon: The epsilon to calibrate the noise to (exclusive with
      `noise_multiplier`).
    delta: The delta of the (epsilon, delta) guarantee.
    clip: The L2 clip of client updates (the initial clip when adaptive).
    adaptive_clipping: Adapt the clip to the `target_quantile` of update
      norms.
    target_quantile: Adaptive clipping's target quantile of update norms.
    accountant: How epsilon is computed.
    noise_seed: Seed of the noise (see module docstring).
    clients_per_round: The round's fixed denominator, the number of clients
      sampled a round (0: not set yet; `resolve` sets it).
  """

  noise_multiplier: Optional[float] = None
  target_epsilon: Optional[float] = None
  delta: float = 1e-5
  clip: float = 1.0
  adaptive_clipping: bool = False
  target_quantile: float = 0.5
  accountant: Accountant = Accountant.RDP
  noise_seed: int = 0
  clients_per_round: int = 0

  def __post_init__(self):
    if (self.noise_multiplier is None) == (self.target_epsilon is None):
      raise ValueError(
          'Differential privacy needs exactly one of a noise multiplier '
          '(--dp_noise_multiplier) and a target epsilon (--target_epsilon); '
          f'got {self.noise_multiplier} and {self.target_epsilon}.')
    if self.noise_multiplier is not None and self.noise_multiplier < 0:
      raise ValueError(
          f'--dp_noise_multiplier must be >= 0; got {self.noise_multiplier}.')
    if self.target_epsilon is not None and self.target_epsilon <= 0:
      raise ValueError(
          f'--target_epsilon must be > 0; got {self.target_epsilon}.')
    if not 0 < self.delta < 1:
      raise ValueError(f'--dp_delta must be in (0, 1); got {self.delta}.')
    if self.clip <= 0:
      raise ValueError(f'--dp_clip must be > 0; got {self.clip}.')
    if not 0 < self.target_quantile < 1:
      raise ValueError(
          f'The target quantile must be in (0, 1); got {self.target_quantile}.')
    if self.clients_per_round < 0:
      raise ValueError(
          f'--clients_per_round must be >= 1; got {self.clients_per_round}.')


class SeededGaussianSumQuery(tfp.GaussianSumQuery):
  """`tfp.GaussianSumQuery` whose noise is seeded and counted in its state.

  Round `r`'s noise for the `i`-th of `n` tensors is
  `stddev * stateless_normal(seed=(noise_seed, r * n + i))`, and `r` is kept
  in the query's global state, so the noise depends on the saved state only.
  """

  _SeededState = collections.namedtuple(
      '_SeededState', ['l2_norm_clip', 'stddev', 'seed', 'round'])

  def __init__(self, l2_norm_clip: float, stddev: float, noise_seed: int):
    super().__init__(l2_norm_clip, stddev)
    self._noise_seed = noise_seed

  def initial_global_state(self):
    return self._SeededState(
        tf.constant(self._l2_norm_clip, tf.float32),
        tf.constant(self._stddev, tf.float32),
        tf.constant(self._noise_seed, tf.int64), tf.constant(0, tf.int64))

  def get_noised_result(self, sample_state, global_state):
    leaves = tf.nest.flatten(sample_state)
    noised = []
    for i, value in enumerate(leaves):
      seed = tf.stack([global_state.seed,
                       global_state.round * len(leaves) + i])
      noise = tf.random.stateless_normal(tf.shape(value), seed=seed)
      noised.append(value + tf.cast(global_state.stddev * noise, value.dtype))
    event = dp_accounting.GaussianDpEvent(
        global_state.stddev / global_state.l2_norm_clip)
    return (tf.nest.pack_sequence_as(sample_state, noised),
            global_state._replace(round=global_state.round + 1), event)


def build_dp_factory(
    config: DPConfig,
    secure: bool = True) -> tff.aggregators.UnweightedAggregationFactory:
  """The DP mean of client updates (module docstring).

  Args:
    config: Resolved settings (`noise_multiplier` and `clients_per_round`
      set; see `resolve`).
    secure: Sum the clipped updates with secure sums (else plain sums).

  Returns:
    An unweighted aggregation factory for `tff.learning` algorithms.

  Raises:
    ValueError: If the config is not resolved.
  """
  if config.noise_multiplier is None or config.clients_per_round < 1:
    raise ValueError(
        'The DP config is not resolved (noise multiplier '
        f'{config.noise_multiplier}, clients per round '
        f'{config.clients_per_round}); call privacy.resolve first.')
  clients = float(config.clients_per_round)
  if config.adaptive_clipping:
    value_noise, count_stddev = adaptive_noise(config.noise_multiplier,
                                               clients)
    query = tfp.NormalizedQuery(tfp.QuantileAdaptiveClipSumQuery(
        initial_l2_norm_clip=config.clip, noise_multiplier=value_noise,
        target_unclipped_quantile=config.target_quantile,
        learning_rate=_ADAPTIVE_LEARNING_RATE,
        clipped_count_stddev=count_stddev, expected_num_records=clients,
        geometric_update=True), denominator=clients)
    # The clipped-count indicator is at most 0.5 in magnitude.
    bound = max(_ADAPTIVE_SECURE_RANGE * config.clip, 1.0)
  else:
    query = tfp.NormalizedQuery(
        SeededGaussianSumQuery(config.clip,
                               config.noise_multiplier * config.clip,
                               config.noise_seed),
        denominator=clients)
    bound = config.clip
  if not secure:
    return tff.aggregators.DifferentiallyPrivateFactory(query)
  return tff.aggregators.DifferentiallyPrivateFactory(
      query, record_aggregation_factory=tff.aggregators.SecureSumFactory(
          upper_bound_threshold=bound, lower_bound_threshold=-bound))


def adaptive_noise(noise_multiplier: float,
                   clients: float) -> tuple[float, float]:
  """Adaptive clipping's (value noise multiplier, clipped-count stddev).

  Andrew et al. (2021): the clipped-count query and the value query
  together spend what one Gaussian mechanism of `noise_multiplier` spends
  when value_z^-2 + (2 count_stddev)^-2 = noise_multiplier^-2. TFF's
  default count stddev (0.05 * clients) cannot meet that once
  noise_multiplier >= 0.1 * clients (a small population or a tight budget),
  so the count stddev is raised to at least `noise_multiplier`, which keeps
  the value noise within 1.155x of `noise_multiplier`.

  Args:
    noise_multiplier: The total noise multiplier (>= 0).
    clients: Clients a round.

  Returns:
    `(value_noise_multiplier, clipped_count_stddev)`.
  """
  if noise_multiplier == 0:
    return 0.0, 0.0
  count_stddev = max(0.05 * clients, noise_multiplier)
  return ((noise_multiplier ** -2 - (2 * count_stddev) ** -2) ** -0.5,
          count_stddev)


def dp_event(noise_multiplier: float, clients_per_round: int,
             total_clients: int, rounds: int) -> dp_accounting.DpEvent:
  """The privacy event of a run (see module docstring for the adjacency).

  Args:
    noise_multiplier: Noise standard deviation over the clip.
    clients_per_round: Clients sampled a round (at least `total_clients`:
      all of them, every round).
    total_clients: Clients in the population.
    rounds: Rounds run.

  Returns:
    The `dp_accounting` event.
  """
  if clients_per_round >= total_clients:
    return dp_accounting.SelfComposedDpEvent(
        dp_accounting.GaussianDpEvent(noise_multiplier), rounds)
  return dp_accounting.SelfComposedDpEvent(
      dp_accounting.SampledWithoutReplacementDpEvent(
          total_clients, clients_per_round,
          # Replace-one: the clipped sum's sensitivity is twice the clip.
          dp_accounting.GaussianDpEvent(noise_multiplier / 2.0)),
      rounds)


def _make_accountant(accountant: Accountant, sampled: bool):
  rel = dp_accounting.NeighboringRelation
  if accountant == Accountant.PLD:
    if sampled:
      raise ValueError(
          '--dp_accountant=pld cannot account fixed-size sampling without '
          'replacement (dp_accounting has no such PLD event). Pass '
          '--dp_accountant=rdp, or --clients_per_round at least the number '
          'of clients (full participation).')
    # Pessimistic discretisation, 10x coarser than the default (1e-4): an
    # upper bound on epsilon, 30x faster.
    return dp_accounting.pld.PLDAccountant(
        rel.ADD_OR_REMOVE_ONE, value_discretization_interval=1e-3)
  return dp_accounting.rdp.RdpAccountant(
      neighboring_relation=rel.REPLACE_ONE if sampled
      else rel.ADD_OR_REMOVE_ONE)


def epsilon(noise_multiplier: float, clients_per_round: int,
            total_clients: int, rounds: int, delta: float,
            accountant: Accountant = Accountant.RDP) -> float:
  """Epsilon at `delta` after `rounds` rounds of DP-FedAvg.

  Args:
    noise_multiplier: Noise standard deviation over the clip.
    clients_per_round: Clients sampled a round, uniformly without
      replacement (at least `total_clients`: all of them).
    total_clients: Clients in the population.
    rounds: Rounds run.
    delta: The guarantee's delta.
    accountant: RDP or PLD (PLD: full participation only).

  Returns:
    Epsilon (`inf` with no noise).

  Raises:
    ValueError: For PLD with sampling.
  """
  if noise_multiplier == 0:
    return float('inf')
  acc = _make_accountant(accountant, clients_per_round < total_clients)
  acc.compose(dp_event(noise_multiplier, clients_per_round, total_clients,
                       rounds))
  return float(acc.get_epsilon(delta))


def noise_for_epsilon(target_epsilon: float, clients_per_round: int,
                      total_clients: int, rounds: int, delta: float,
                      accountant: Accountant = Accountant.RDP) -> float:
  """The smallest noise multiplier whose epsilon is at most the target.

  Args:
    target_epsilon: The budget.
    clients_per_round: See `epsilon`.
    total_clients: See `epsilon`.
    rounds: See `epsilon`.
    delta: See `epsilon`.
    accountant: See `epsilon`.

  Returns:
    The noise multiplier (to 1e-4).

  Raises:
    ValueError: For PLD with sampling, or a target no noise multiplier in
      [0.1, 1000] meets.
  """
  sampled = clients_per_round < total_clients
  _make_accountant(accountant, sampled)  # Refuses PLD with sampling.
  try:
    return float(dp_accounting.calibrate_dp_mechanism(
        lambda: _make_accountant(accountant, sampled),
        lambda z: dp_event(z, clients_per_round, total_clients, rounds),
        target_epsilon, delta,
        bracket_interval=dp_accounting.ExplicitBracketInterval(
            _MIN_NOISE, _MAX_NOISE),
        tol=1e-4))
  except (ValueError,
          dp_accounting.mechanism_calibration.NoOptimumFoundError) as e:
    raise ValueError(
        f'--target_epsilon={target_epsilon} needs a noise multiplier outside '
        f'[{_MIN_NOISE}, {_MAX_NOISE}] for {rounds} rounds of '
        f'{clients_per_round} of {total_clients} clients at delta {delta}; '
        'choose another epsilon, or pass --dp_noise_multiplier.') from e


def secret_seed() -> int:
  """A noise seed from the operating system's secret randomness."""
  return secrets.randbits(62)


def resolve(config: DPConfig, clients_per_round: int, total_clients: int,
            rounds: int) -> DPConfig:
  """`config` with its noise calibrated and its denominator set.

  Args:
    config: The user's settings.
    clients_per_round: Clients the run samples a round (capped at
      `total_clients`).
    total_clients: Clients in the run's partition.
    rounds: The run's round budget.

  Returns:
    The config with `noise_multiplier` and `clients_per_round` set.

  Raises:
    ValueError: If no noise multiplier meets the target (see
      `noise_for_epsilon`).
  """
  clients_per_round = min(clients_per_round, total_clients)
  noise = config.noise_multiplier
  if noise is None:
    noise = noise_for_epsilon(config.target_epsilon, clients_per_round,
                              total_clients, rounds, config.delta,
                              config.accountant)
  return dataclasses.replace(config, noise_multiplier=noise,
                             target_epsilon=None,
                             clients_per_round=clients_per_round)
