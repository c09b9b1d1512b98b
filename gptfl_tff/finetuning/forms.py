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
"""Production forms of a federated round, and a secure-aggregation audit.

Google-style production stacks do not run TFF computations as written: they
take a round compiled to `tff.backends.mapreduce.MapReduceForm` (MRF) or
`DistributeAggregateForm` (DAF). This module compiles a learning process's
`next` to both and checks, from the compiled forms alone, that every value
computed on clients reaches the server through a secure-sum slot:

  * MRF: the plain `federated_aggregate` slot (`zero`/`accumulate`/`merge`/
    `report`, and the first part of `work`'s client output) must carry
    nothing; all client output must go to the secure-sum-bitwidth,
    secure-sum or secure-modular-sum slots.
  * DAF: `client_to_server_aggregation` may call only secure-sum intrinsics.

`audit(process.next)` compiles and checks in one call, raising
`InsecureAggregationError` on a non-secure round. `intrinsic_uris` lists the
intrinsics anywhere in a computation (e.g. to check that IBLT label discovery
calls no plain sum).
"""

import collections
import dataclasses
import hashlib
import os
from typing import Optional

import tensorflow_federated as tff

from gptfl_tff import errors
from gptfl_tff import io_utils

SECURE_INTRINSICS = frozenset({
    'federated_secure_sum',
    'federated_secure_sum_bitwidth',
    'federated_secure_modular_sum',
})


class InsecureAggregationError(errors.UserError, ValueError):
  """A client value reaches the server without a secure sum."""


@dataclasses.dataclass(frozen=True)
class CompiledRound:
  """A round in both production forms.

  Attributes:
    map_reduce_form: The round as a `MapReduceForm`.
    distribute_aggregate_form: The round as a `DistributeAggregateForm`.
  """

  map_reduce_form: tff.backends.mapreduce.MapReduceForm
  distribute_aggregate_form: tff.backends.mapreduce.DistributeAggregateForm


def compile_round(comp: tff.Computation) -> CompiledRound:
  """Compiles a round computation (e.g. `process.next`) to MRF and DAF.

  Args:
    comp: A round computation, such as a learning process's `next`.

  Returns:
    The round's `CompiledRound`.
  """
  return CompiledRound(
      tff.backends.mapreduce.get_map_reduce_form_for_computation(comp),
      tff.backends.mapreduce.get_distribute_aggregate_form_for_computation(
          comp
      ),
  )


def _num_leaves(type_spec) -> int:
  if isinstance(type_spec, tff.StructType):
    return sum(
        _num_leaves(t) for _, t in tff.structure.iter_elements(type_spec))
  return 1


def intrinsic_counts(comp: tff.Computation) -> collections.Counter:
  """How often each intrinsic occurs anywhere in a computation.

  Args:
    comp: A computation; its building block is walked, nested lambdas and
      blocks included.

  Returns:
    A `Counter` of intrinsic URIs, e.g. `{'federated_map': 12, ...}`.
  """
  counts = collections.Counter()

  def visit(building_block):
    if isinstance(building_block, tff.framework.Intrinsic):
      counts[building_block.uri] += 1
    return building_block, False

  tff.framework.transform_postorder(comp.to_building_block(), visit)
  return counts


def intrinsic_uris(comp: tff.Computation) -> set[str]:
  """URIs of every intrinsic called anywhere in a computation.

  Args:
    comp: A computation (see `intrinsic_counts`).

  Returns:
    The set of intrinsic URIs, e.g. `{'federated_secure_sum_bitwidth'}`.
  """
  return set(intrinsic_counts(comp))


def aggregation_intrinsics(
    daf: tff.backends.mapreduce.DistributeAggregateForm,
) -> set[str]:
  """URIs of the intrinsics in DAF's client-to-server aggregation.

  Args:
    daf: A compiled `DistributeAggregateForm`.

  Returns:
    The intrinsic URIs of `daf.client_to_server_aggregation`.
  """
  return intrinsic_uris(daf.client_to_server_aggregation)


def insecure_paths(compiled: CompiledRound) -> list[str]:
  """Describes every non-secure client-to-server path.

  Any leaf in MRF's plain `federated_aggregate` slot, and any intrinsic other
  than a secure sum in DAF's `client_to_server_aggregation`, is reported.

  Args:
    compiled: The round, compiled by `compile_round`.

  Returns:
    One message per problem, naming the leaking types or intrinsics; empty
    if every client value is aggregated with a secure sum.
  """
  problems = []
  mrf = compiled.map_reduce_form
  client_output = mrf.work.type_signature.result
  plain = client_output[0]
  if _num_leaves(plain):
    problems.append(
        f'MapReduceForm: {_num_leaves(plain)} client tensor(s) go through '
        f'the plain federated_aggregate slot: {plain}'
    )
  secure = sum(_num_leaves(client_output[i]) for i in (1, 2, 3))
  if not secure and not problems:
    problems.append('MapReduceForm: no client value is aggregated at all.')
  other = aggregation_intrinsics(compiled.distribute_aggregate_form) - (
      SECURE_INTRINSICS
  )
  if other:
    problems.append(
        'DistributeAggregateForm: client_to_server_aggregation calls '
        f'non-secure intrinsic(s) {sorted(other)}.'
    )
  return problems


def check_secure(compiled: CompiledRound) -> None:
  """Checks that every client value reaches the server by a secure sum.

  Args:
    compiled: The round, compiled by `compile_round`.

  Raises:
    InsecureAggregationError: If `insecure_paths(compiled)` is not empty; the
      message lists the paths.
  """
  problems = insecure_paths(compiled)
  if problems:
    raise InsecureAggregationError(
        'Non-secure aggregation of client values:\n  '
        + '\n  '.join(problems)
        + '\nBuild the process with ProcessConfig(secure=True).'
    )


def computation_digest(comp: tff.Computation) -> str:
  """SHA-256 of a computation's serialized proto and the TFF version."""
  proto = tff.framework.ConcreteComputation.get_proto(comp)
  digest = hashlib.sha256(tff.__version__.encode())
  digest.update(proto.SerializeToString(deterministic=True))
  return digest.hexdigest()


def audit(comp: tff.Computation,
          cache_dir: Optional[str] = None) -> Optional[CompiledRound]:
  """Compiles a round and refuses it unless its aggregation is secure.

  For experiment binaries: call `audit(process.next)` before training.
  Compiling both forms takes about 7 s for the keyword model; with
  `cache_dir`, a round that passed is recorded under its
  `computation_digest`, and the same computation (byte for byte, same TFF)
  is not compiled again. Refusals are never cached.

  Args:
    comp: A round computation, such as a learning process's `next`.
    cache_dir: Folder of passed audits (`None`: always compile).

  Returns:
    The round's `CompiledRound` if it was compiled and every client value
    is securely summed; `None` if a recorded pass was found.

  Raises:
    InsecureAggregationError: If any client value is not securely summed.
  """
  record = None
  if cache_dir:
    record = os.path.join(cache_dir, 'audits',
                          computation_digest(comp) + '.json')
    if os.path.exists(record):
      return None
  compiled = compile_round(comp)
  check_secure(compiled)
  if record:
    io_utils.atomic_write_json(record, {
        'tff_version': tff.__version__,
        'aggregation_intrinsics': sorted(aggregation_intrinsics(
            compiled.distribute_aggregate_form)),
    })
  return compiled
