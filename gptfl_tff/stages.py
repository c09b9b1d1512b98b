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
"""The one rule for skipping, resuming or refusing a stage's output.

Every stage (label discovery, prompts, generation, pretraining, federated
training) writes into its own folder, and `begin` records there, in
`stage.json`, the fingerprint of every setting that shaped the output: its
own settings and digests of its inputs (the discovered labels, the prompts,
the synthetic manifest, the initial model file). Then:

  * no record: the stage is new; anything already in its folder (from an
    older version or an unrecorded run) is removed first, so nothing is
    reused because a file exists;
  * same fingerprint, complete: skip;
  * same fingerprint, not complete: resume (the stage continues from its own
    checkpoints: shards, epochs, rounds);
  * another fingerprint: `StageError`, naming each setting that changed and
    the two ways on (another experiment name, or `--redo_from=STAGE`, which
    clears this stage and every later one).
"""

import dataclasses
import enum
import hashlib
import json
import os
import shutil
from typing import Any, Mapping, Sequence

from absl import logging

from gptfl_tff import errors
from gptfl_tff import io_utils

RECORD = 'stage.json'
# The chain's stages, in order.
ORDER = ('labels', 'prompts', 'synthetic', 'pretrain', 'federated')


class StageError(errors.UserError):
  """A stage folder made with other settings; the message says what to do."""


class Status(enum.Enum):
  NEW = 'new'
  RESUME = 'resume'
  DONE = 'done'


def settings_of(obj: Any, prefix: str = '') -> dict[str, Any]:
  """Flattens dataclasses, dicts, enums and sequences to `{dotted: value}`.

  Args:
    obj: A dataclass, mapping, or plain value.
    prefix: Prefix of the keys.

  Returns:
    A flat dict of JSON values (enums as their values, tuples as lists).
  """
  if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
    obj = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
  if isinstance(obj, Mapping):
    out = {}
    for key, value in obj.items():
      out.update(settings_of(value, f'{prefix}{key}.'))
    return out
  if isinstance(obj, enum.Enum):
    obj = obj.value
  elif isinstance(obj, (tuple, list)):
    obj = [v.value if isinstance(v, enum.Enum) else v for v in obj]
  elif isinstance(obj, type):
    obj = obj.__name__
  return {prefix[:-1]: obj}


def fingerprint(settings: Mapping[str, Any]) -> str:
  """A short digest of flat settings."""
  text = json.dumps(settings, sort_keys=True, default=repr)
  return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_digest(path: str) -> str:
  """sha256 of a file's bytes, or of a folder's files (names and bytes)."""
  h = hashlib.sha256()
  paths = [path]
  if os.path.isdir(path):
    paths = sorted(os.path.join(root, f)
                   for root, _, files in os.walk(path) for f in files)
  for p in paths:
    h.update(os.path.relpath(p, path).encode())
    with open(p, 'rb') as f:
      for block in iter(lambda: f.read(1 << 20), b''):
        h.update(block)
  return h.hexdigest()[:16]


def read(stage_dir: str) -> dict[str, Any] | None:
  """The stage record of a folder, or `None`."""
  path = os.path.join(stage_dir, RECORD)
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)


def _changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
  keys = sorted(set(old) | set(new))
  missing = object()
  return [f'{k}: {old.get(k, missing)!r} -> {new.get(k, missing)!r}'
          .replace(repr(missing), '(unset)')
          for k in keys if old.get(k, missing) != new.get(k, missing)]


def _clear(stage_dir: str) -> None:
  if os.path.isdir(stage_dir):
    for name in os.listdir(stage_dir):
      path = os.path.join(stage_dir, name)
      if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
      else:
        os.remove(path)


def begin(
    stage_dir: str, stage: str, settings: Mapping[str, Any],
    redo: bool = False,
) -> Status:
  """Applies the rule (module docstring) to a stage folder.

  Args:
    stage_dir: The stage's output folder.
    stage: The stage's name (for messages and `--redo_from`).
    settings: Every setting and input digest that shapes the output (flat;
      see `settings_of`).
    redo: Clear the folder and start again whatever it holds.

  Returns:
    What to do: `NEW` (the folder is empty now), `RESUME` or `DONE`.

  Raises:
    StageError: If the folder was made with other settings and not `redo`.
  """
  settings = dict(settings)
  fp = fingerprint(settings)
  record = read(stage_dir)
  if record is not None and record['fingerprint'] == fp and not redo:
    return Status.DONE if record['complete'] else Status.RESUME
  if record is not None and not redo:
    changed = _changes(record['settings'], settings)
    raise StageError(
        f'{stage_dir} holds the {stage} stage made with other settings '
        f'({"; ".join(changed)}). Use another --experiment_name, or pass '
        f'--redo_from={stage} to redo it and every later stage.')
  if os.path.isdir(stage_dir) and os.listdir(stage_dir):
    logging.info('Stage %s: clearing %s before starting.', stage, stage_dir)
  _clear(stage_dir)
  os.makedirs(stage_dir, exist_ok=True)
  io_utils.atomic_write_json(
      os.path.join(stage_dir, RECORD),
      {'stage': stage, 'fingerprint': fp, 'settings': settings,
       'complete': False})
  return Status.NEW


def finish(stage_dir: str) -> None:
  """Marks the stage in `stage_dir` complete.

  Raises:
    StageError: If `begin` was not called on it.
  """
  record = read(stage_dir)
  if record is None:
    raise StageError(f'{stage_dir} has no stage record; call begin first.')
  record['complete'] = True
  io_utils.atomic_write_json(os.path.join(stage_dir, RECORD), record)


def redo_flags(redo_from: str | None, order: Sequence[str] = ORDER
               ) -> dict[str, bool]:
  """`{stage: redo}`: `redo_from` and every later stage are redone.

  Raises:
    StageError: For a stage name not in `order`.
  """
  if redo_from and redo_from not in order:
    raise StageError(
        f'Unknown stage {redo_from!r} for --redo_from; use one of '
        f'{list(order)}.')
  start = order.index(redo_from) if redo_from else len(order)
  return {s: k >= start for k, s in enumerate(order)}
