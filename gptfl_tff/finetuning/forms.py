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

Simulations run the round in the form production runs it: `build_round`
compiles a round to MRF (audited, cached) and returns the computation that
executes that form, so each client makes one TensorFlow call per round (its
data, training and every aggregator's client-side step fused in `work`)
where the round as written makes one per client-placed map (39 for a secure
round). The two give the same weights bit for bit
(`tests/finetuning/forms_test.py`); the form is faster (secure rounds cost
1.14-1.15x plain at 100 clients, 1.25x as written; docs/results.md,
section 2).
"""

import collections
import dataclasses
import enum
import os
import shutil
import tempfile
from typing import Any, Optional

import numpy as np
import tensorflow as tf
import tensorflow_federated as tff
from tensorflow_federated.proto.v0 import computation_pb2
# TFF's public API has no type (de)serializer; the exported round's type
# needs one.
from tensorflow_federated.python.core.impl.types import type_serialization  # pylint: disable=g-direct-tensorflow-import

from gptfl_tff import errors
from gptfl_tff import io_utils
from gptfl_tff import runtime

SECURE_INTRINSICS = frozenset({
    'federated_secure_sum',
    'federated_secure_sum_bitwidth',
    'federated_secure_modular_sum',
})


class InsecureAggregationError(errors.UserError, ValueError):
  """A client value reaches the server without a secure sum."""


class RoundForm(enum.Enum):
  """Which form of a round a simulation executes (see `build_round`).

  MAP_REDUCE: the round compiled to `MapReduceForm`, as production runs it.
  AS_WRITTEN: the round's computation as traced, one TensorFlow call per
    client-placed map (the project's form before issue 13's last step).
  """

  MAP_REDUCE = 'map_reduce'
  AS_WRITTEN = 'as_written'


# MapReduceForm's computations, in its constructor's order.
_MRF_FIELDS = ('prepare', 'work', 'zero', 'accumulate', 'merge', 'report',
               'secure_sum_bitwidth', 'secure_sum_max_input',
               'secure_modular_sum_modulus', 'update')


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


def audit(comp: tff.Computation,
          cache_dir: Optional[str] = None) -> Optional[CompiledRound]:
  """Compiles a round and refuses it unless its aggregation is secure.

  Compiling both forms takes about 7 s for the keyword model; with
  `cache_dir`, a round that passed is recorded under its
  `runtime.computation_digest`, and the same computation (byte for byte,
  same TFF) is not compiled again. Refusals are never cached.

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
                          runtime.computation_digest(comp) + '.json')
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


_DAF_FIELDS = ('server_prepare', 'server_to_client_broadcast', 'client_work',
               'client_to_server_aggregation', 'server_result')
_FORMS = {tff.backends.mapreduce.MapReduceForm: _MRF_FIELDS,
          tff.backends.mapreduce.DistributeAggregateForm: _DAF_FIELDS}


def save_form(path: str, form) -> None:
  """Writes a compiled form's computations as one TFRecord file.

  Each record is one serialized `computation_pb2.Computation`, in the
  form's constructor order; the file is written under a temporary name and
  renamed.

  Args:
    path: The file to write.
    form: A `MapReduceForm` or `DistributeAggregateForm`.
  """
  with io_utils.atomic_path(path) as tmp, tf.io.TFRecordWriter(tmp) as writer:
    for field in _FORMS[type(form)]:
      writer.write(tff.framework.ConcreteComputation.get_proto(
          getattr(form, field)).SerializeToString(deterministic=True))


def load_form(path: str, form_class, type_signature: tff.FunctionType):
  """Reads `save_form`'s file.

  Args:
    path: The file.
    form_class: `MapReduceForm` or `DistributeAggregateForm`.
    type_signature: The round's type (`comp.type_signature` of the round
      the form was compiled from).

  Returns:
    The form.

  Raises:
    Exception: If the file is missing, damaged or not such a form.
  """
  comps = []
  for record in tf.data.TFRecordDataset(path).as_numpy_iterator():
    comps.append(tff.framework.ConcreteComputation(
        computation_proto=computation_pb2.Computation.FromString(record),
        context_stack=tff.framework.get_context_stack()))
  return form_class(type_signature, *comps)


def build_round(
    comp: tff.Computation,
    form: RoundForm = RoundForm.MAP_REDUCE,
    secure: bool = False,
    cache_dir: Optional[str] = None,
) -> tff.Computation:
  """The computation a simulation runs for a round (see module docstring).

  Args:
    comp: A round computation `(state@SERVER, data@CLIENTS) -> (state,
      metrics)`, e.g. `federated.build_round_computation(process, ...)`.
    form: Execute the compiled `MapReduceForm` or the computation as written.
    secure: Audit the round first (see `audit`) and refuse it unless every
      client value reaches the server through a secure sum.
    cache_dir: Folder for passed audits and compiled forms, both keyed by
      `runtime.computation_digest(comp)`; `None` compiles every time.
      Compiling the MRF takes 1.5-3 s for the keyword model, an audit about
      7 s.

  Returns:
    A computation with `comp`'s type signature.

  Raises:
    InsecureAggregationError: With `secure`, if the audit fails.
  """
  compiled = audit(comp, cache_dir) if secure else None
  if form == RoundForm.AS_WRITTEN:
    return comp

  def make():
    if compiled:  # The audit compiled it already.
      return compiled.map_reduce_form
    return tff.backends.mapreduce.get_map_reduce_form_for_computation(comp)

  if cache_dir:
    mrf = io_utils.load_or_make(
        os.path.join(cache_dir, 'forms',
                     runtime.computation_digest(comp) + '.mrf.tfrecord'),
        lambda path: load_form(path, tff.backends.mapreduce.MapReduceForm,
                               comp.type_signature),
        make, save_form, what='compiled form')
  else:
    mrf = make()
  run_form = tff.backends.mapreduce.get_computation_for_map_reduce_form(mrf)
  # The form returns an unnamed pair of structures without their Python
  # containers. Name the pair as the round names its result, then give the
  # computation the round's own type, so callers get the same Python values
  # (e.g. a `LearningProcessOutput` whose state restores a checkpoint).
  names = [name for name, _ in tff.structure.iter_elements(
      comp.type_signature.result)]

  @tff.federated_computation(comp.type_signature.parameter)
  def round_fn(arg):
    result = run_form(arg)
    if not any(names):
      return result
    return collections.OrderedDict(zip(names, (result[0], result[1])))

  return tff.framework.ConcreteComputation.with_type(
      round_fn, comp.type_signature)


# The files of an exported round (see `export_round`).
EXPORT_MRF = 'map_reduce_form.tfrecord'
EXPORT_DAF = 'distribute_aggregate_form.tfrecord'
EXPORT_TYPE = 'round_type.pb'
EXPORT_STATE = 'initial_state.npz'


def export_round(comp: tff.Computation, initial_state: Any,
                 folder: str, secure: bool = True) -> CompiledRound:
  """Writes a round for a production stack (issue 12, item 4).

  Writes:
    * `map_reduce_form.tfrecord`, `distribute_aggregate_form.tfrecord`: the
      forms' computations (`save_form`);
    * `round_type.pb`: the round's serialized `tff.Type`, which both forms
      need to be rebuilt;
    * `initial_state.npz`: the server state's leaves (`leaf_00000`, ... in
      `tf.nest.flatten` order of the Python state).

  The four files are written to a temporary folder that then replaces
  `folder`, so a failed export leaves no mix of old and new files.

  Args:
    comp: The round, e.g. `process.next` (clients' data as datasets).
    initial_state: The server state to start from.
    folder: Output folder.
    secure: Refuse (and write nothing) unless the compiled round passes the
      secure-aggregation audit.

  Returns:
    The compiled round.

  Raises:
    InsecureAggregationError: With `secure`, if the audit fails.
  """
  compiled = compile_round(comp)
  if secure:
    check_secure(compiled)
  parent = os.path.dirname(os.path.abspath(folder))
  os.makedirs(parent, exist_ok=True)
  tmp = tempfile.mkdtemp(dir=parent, prefix='.export-')
  try:
    save_form(os.path.join(tmp, EXPORT_MRF), compiled.map_reduce_form)
    save_form(os.path.join(tmp, EXPORT_DAF),
              compiled.distribute_aggregate_form)
    with open(os.path.join(tmp, EXPORT_TYPE), 'wb') as f:
      f.write(type_serialization.serialize_type(
          comp.type_signature).SerializeToString(deterministic=True))
    leaves = tf.nest.flatten(initial_state)
    np.savez(os.path.join(tmp, EXPORT_STATE),
             **{f'leaf_{i:05d}': np.asarray(v) for i, v in enumerate(leaves)})
    old = None
    if os.path.exists(folder):
      old = tempfile.mkdtemp(dir=parent, prefix='.export-old-')
      os.replace(folder, os.path.join(old, 'export'))
    os.replace(tmp, folder)
    if old:
      shutil.rmtree(old)
  finally:
    if os.path.exists(tmp):
      shutil.rmtree(tmp)
  return compiled


def load_round(folder: str) -> tuple[CompiledRound, list[np.ndarray]]:
  """Reads `export_round`'s folder.

  Args:
    folder: An exported round's folder.

  Returns:
    `(compiled round, initial state leaves in tf.nest.flatten order)`.
  """
  with open(os.path.join(folder, EXPORT_TYPE), 'rb') as f:
    type_signature = type_serialization.deserialize_type(
        computation_pb2.Type.FromString(f.read()))
  compiled = CompiledRound(
      load_form(os.path.join(folder, EXPORT_MRF),
                tff.backends.mapreduce.MapReduceForm, type_signature),
      load_form(os.path.join(folder, EXPORT_DAF),
                tff.backends.mapreduce.DistributeAggregateForm,
                type_signature))
  with np.load(os.path.join(folder, EXPORT_STATE)) as npz:
    leaves = [npz[k] for k in sorted(npz.files)]
  return compiled, leaves
