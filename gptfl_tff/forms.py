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
"""

import dataclasses

import tensorflow_federated as tff

SECURE_INTRINSICS = frozenset({
    'federated_secure_sum',
    'federated_secure_sum_bitwidth',
    'federated_secure_modular_sum',
})


class InsecureAggregationError(ValueError):
  """A client value reaches the server without a secure sum."""


@dataclasses.dataclass(frozen=True)
class CompiledRound:
  map_reduce_form: tff.backends.mapreduce.MapReduceForm
  distribute_aggregate_form: tff.backends.mapreduce.DistributeAggregateForm


def compile_round(comp: tff.Computation) -> CompiledRound:
  """Compiles a round computation (e.g. `process.next`) to MRF and DAF."""
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


def aggregation_intrinsics(daf) -> set[str]:
  """URIs of the intrinsics in DAF's client-to-server aggregation."""
  uris = set()

  def visit(building_block):
    if isinstance(building_block, tff.framework.Intrinsic):
      uris.add(building_block.uri)
    return building_block, False

  tff.framework.transform_postorder(
      daf.client_to_server_aggregation.to_building_block(), visit
  )
  return uris


def insecure_paths(compiled: CompiledRound) -> list[str]:
  """Describes every non-secure client-to-server path (empty if none)."""
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
  """Raises `InsecureAggregationError` if any client value is not secure."""
  problems = insecure_paths(compiled)
  if problems:
    raise InsecureAggregationError(
        'Non-secure aggregation of client values:\n  '
        + '\n  '.join(problems)
        + '\nBuild the process with ProcessConfig(secure=True).'
    )
