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
"""Private label discovery with IBLT sketches (GPT-FL, Sec. 3.1).

GPT-FL needs the names of the labels that exist across clients to write its
prompts, without the server learning which client holds which label. Each
client encodes its distinct label names in an Invertible Bloom Lookup Table;
the tables are summed with secure aggregation (modular secure sum of the
sketch, secure sums of the counts) and the server decodes only the union.
This uses TFF's `tff.analytics.heavy_hitters.iblt.build_iblt_computation`
with `secure_sum_bitwidth` set and `multi_contribution=False` (a client
contributes each name once).

Names are UTF-8 strings of at most `string_max_bytes` bytes (default 32).
IBLT would silently truncate longer names, so they are rejected up front.

When the summed table cannot be decoded (more distinct names than its
capacity), discovery is retried with twice the capacity, up to
`max_capacity`, then fails with an error naming `--label_capacity`.

The computation must run in a context that executes secure sums, e.g.
`runtime.ContextKind.TEST` in simulation.
"""

import dataclasses
from typing import Sequence

import numpy as np
import tensorflow as tf
import tensorflow_federated as tff

from gptfl_tff import errors

DEFAULT_STRING_MAX_BYTES = 32
DEFAULT_CAPACITY = 64
DEFAULT_MAX_CAPACITY = 4096
SECURE_SUM_BITWIDTH = 32


class LabelDiscoveryError(errors.UserError, ValueError):
  """Label discovery failed; the message names the setting to change."""


@dataclasses.dataclass(frozen=True)
class DiscoveryResult:
  """The outcome of label discovery.

  Attributes:
    labels: The union of client label names, sorted.
    client_counts: How many clients hold each name (same order).
    capacity: The IBLT capacity that decoded.
    attempts: The capacities tried, in order.
  """

  labels: tuple[str, ...]
  client_counts: tuple[int, ...]
  capacity: int
  attempts: tuple[int, ...]


def validate_names(
    client_names: Sequence[Sequence[str]], string_max_bytes: int
) -> list[list[str]]:
  """Checks names and returns each client's distinct names.

  Raises:
    LabelDiscoveryError: If a name is empty, not a string, or longer than
      `string_max_bytes` bytes in UTF-8, or no client is given.
  """
  if not client_names:
    raise LabelDiscoveryError('No clients given to label discovery.')
  out = []
  for k, names in enumerate(client_names):
    distinct = []
    for name in names:
      if not isinstance(name, str) or not name:
        raise LabelDiscoveryError(
            f'Client {k}: label name {name!r} must be a non-empty string.'
        )
      size = len(name.encode('utf-8'))
      if size > string_max_bytes:
        raise LabelDiscoveryError(
            f'Client {k}: label name {name!r} is {size} bytes in UTF-8, over '
            f'the IBLT limit of {string_max_bytes}; shorten the name or raise '
            '--label_max_bytes.'
        )
      if name not in distinct:
        distinct.append(name)
    out.append(distinct)
  return out


def build_discovery_computation(
    capacity: int, string_max_bytes: int, seed: int = 0
) -> tff.Computation:
  """The secure IBLT computation over client datasets of name vectors."""
  return tff.analytics.heavy_hitters.iblt.build_iblt_computation(
      capacity=capacity,
      string_max_bytes=string_max_bytes,
      multi_contribution=False,
      secure_sum_bitwidth=SECURE_SUM_BITWIDTH,
      seed=seed,
      repetitions=3,
      k_anonymity=1,
  )


def _client_dataset(names: list[str]) -> tf.data.Dataset:
  return tf.data.Dataset.from_tensors(tf.constant(names, dtype=tf.string))


def discover_labels(
    client_names: Sequence[Sequence[str]],
    capacity: int = DEFAULT_CAPACITY,
    max_capacity: int = DEFAULT_MAX_CAPACITY,
    string_max_bytes: int = DEFAULT_STRING_MAX_BYTES,
    seed: int = 0,
) -> DiscoveryResult:
  """Returns the union of the clients' label names, decoded from IBLT sums.

  Args:
    client_names: Each client's label names (repeats are counted once).
    capacity: Initial IBLT capacity (distinct names it is sized for).
    max_capacity: Largest capacity to retry with.
    string_max_bytes: Longest name allowed, in UTF-8 bytes.
    seed: Seed of the IBLT hash functions.

  Returns:
    A `DiscoveryResult`.

  Raises:
    LabelDiscoveryError: On bad names, or when even `max_capacity` does not
      decode.
  """
  if capacity < 1 or max_capacity < capacity:
    raise LabelDiscoveryError(
        f'Need 1 <= capacity <= max_capacity; got {capacity}, {max_capacity}.'
    )
  clients = validate_names(client_names, string_max_bytes)
  datasets = [_client_dataset(names) for names in clients if names]
  if not datasets:
    raise LabelDiscoveryError('Every client has an empty label list.')
  attempts = []
  cap = capacity
  while True:
    attempts.append(cap)
    comp = build_discovery_computation(cap, string_max_bytes, seed)
    out = comp(datasets)
    if int(out.num_not_decoded) == 0:
      names = [s.decode('utf-8') for s in np.asarray(out.heavy_hitters)]
      counts = [int(c) for c in np.asarray(out.heavy_hitters_unique_counts)]
      order = sorted(range(len(names)), key=lambda i: names[i])
      return DiscoveryResult(
          labels=tuple(names[i] for i in order),
          client_counts=tuple(counts[i] for i in order),
          capacity=cap,
          attempts=tuple(attempts),
      )
    if cap >= max_capacity:
      raise LabelDiscoveryError(
          f'The summed IBLT did not decode ({int(out.num_not_decoded)} '
          f'names undecoded) at capacity {cap}, the maximum; raise '
          '--label_capacity / --label_max_capacity above the number of '
          'distinct label names.'
      )
    cap = min(2 * cap, max_capacity)
