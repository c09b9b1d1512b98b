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
"""Deterministic federated partitions of a centralised training set.

* `natural`: clients are the data's own groups (speakers), optionally each
  split into several clients.
* `dirichlet`: label skew; for each class, its examples are divided among the
  clients in proportions drawn from Dirichlet(alpha), redrawn until every
  client holds at least `min_examples` (the scheme of Hsu et al. 2019 used by
  FedAudio and by GPT-FL, Sec. 4.1).

Every partition is a list of index arrays into the training set, a function
of its inputs and `seed` alone.
"""

from typing import Sequence

import numpy as np

from gptfl_tff import errors


class PartitionError(errors.UserError, ValueError):
  """A partition that cannot be made; the message says what to change."""


def natural(
    groups: Sequence[str], clients_per_group: int = 1, seed: int = 0
) -> dict[str, np.ndarray]:
  """One or more clients per natural group.

  Args:
    groups: Group (e.g. speaker) of each example.
    clients_per_group: Each group's examples are shuffled and dealt to this
      many clients.
    seed: Seed of the shuffle.

  Returns:
    Ordered dict `client_id -> sorted example indices`; ids are the group
    name, or `{group}-{k}` when `clients_per_group > 1`.

  Raises:
    PartitionError: If a group has fewer examples than clients.
  """
  if clients_per_group < 1:
    raise PartitionError(
        f'clients_per_group must be >= 1, got {clients_per_group}.'
    )
  groups = np.asarray(groups)
  rng = np.random.default_rng(seed)
  clients = {}
  for group in sorted(set(groups.tolist())):
    idx = np.flatnonzero(groups == group)
    if len(idx) < clients_per_group:
      raise PartitionError(
          f'Group {group!r} has {len(idx)} examples, fewer than '
          f'clients_per_group={clients_per_group}.'
      )
    if clients_per_group == 1:
      clients[group] = idx
      continue
    rng.shuffle(idx)
    for k, part in enumerate(np.array_split(idx, clients_per_group)):
      clients[f'{group}-{k}'] = np.sort(part)
  return clients


def dirichlet(
    labels: Sequence[int],
    num_clients: int,
    alpha: float,
    min_examples: int = 10,
    seed: int = 0,
    max_tries: int = 1000,
) -> dict[str, np.ndarray]:
  """Label-skewed partition by per-class Dirichlet(alpha) proportions.

  Args:
    labels: Class id of each example.
    num_clients: How many clients.
    alpha: Concentration; small values give few classes per client.
    min_examples: Every client gets at least this many examples.
    seed: Seed of every draw.
    max_tries: Draws before giving up on `min_examples`.

  Returns:
    Ordered dict `'client_{k:04d}' -> sorted example indices`.

  Raises:
    PartitionError: If the arguments are out of range, or no draw in
      `max_tries` satisfies `min_examples`.
  """
  labels = np.asarray(labels)
  if num_clients < 1 or alpha <= 0:
    raise PartitionError(
        f'Need num_clients >= 1 and alpha > 0, got {num_clients}, {alpha}.'
    )
  if num_clients * min_examples > len(labels):
    raise PartitionError(
        f'{num_clients} clients x min_examples={min_examples} exceeds the '
        f'{len(labels)} examples; lower one of them.'
    )
  rng = np.random.default_rng(seed)
  classes = np.unique(labels)
  for _ in range(max_tries):
    parts = [[] for _ in range(num_clients)]
    for c in classes:
      idx = np.flatnonzero(labels == c)
      rng.shuffle(idx)
      proportions = rng.dirichlet(np.full(num_clients, alpha))
      cuts = (np.cumsum(proportions)[:-1] * len(idx)).astype(int)
      for k, chunk in enumerate(np.split(idx, cuts)):
        parts[k].extend(chunk.tolist())
    if min(len(p) for p in parts) >= min_examples:
      return {
          f'client_{k:04d}': np.sort(np.array(p, np.int64))
          for k, p in enumerate(parts)
      }
  raise PartitionError(
      f'No Dirichlet(alpha={alpha}) draw gave every one of {num_clients} '
      f'clients {min_examples} examples in {max_tries} tries; raise alpha '
      'or lower min_examples / num_clients.'
  )


def label_histograms(
    partition: dict[str, np.ndarray], labels: Sequence[int], num_classes: int
) -> np.ndarray:
  """Returns `[num_clients, num_classes]` example counts per label."""
  labels = np.asarray(labels)
  return np.stack([
      np.bincount(labels[idx], minlength=num_classes)
      for idx in partition.values()
  ])
