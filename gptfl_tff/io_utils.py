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
"""Crash-safe file writing (temporary name, then rename), a file cache, and
flag helpers.

The flag helpers are what every binary shares: reading number-list flags
with a clear usage error, and writing a run's resolved flags.
"""

import contextlib
import enum
import json
import os
import tempfile
from typing import Any, Callable, Iterator

from absl import app
from absl import flags
from absl import logging
import numpy as np


# The process's umask, read once (reading it means setting it).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
  """Yields a temporary path that is renamed to `path` on success.

  On an exception the temporary file is removed and `path` is untouched, so a
  reader never sees a half-written file. The file gets the mode a plain
  `open` would give it (0666 less the umask), not the temporary file's 0600.

  Args:
    path: The final path. Its folder is created if needed.

  Yields:
    A temporary path in the same folder (same file system, so the rename is
    atomic).
  """
  folder = os.path.dirname(os.path.abspath(path))
  os.makedirs(folder, exist_ok=True)
  fd, tmp = tempfile.mkstemp(
      dir=folder, prefix=f'.{os.path.basename(path)}.', suffix='.tmp'
  )
  os.close(fd)
  try:
    yield tmp
    os.chmod(tmp, 0o666 & ~_UMASK)
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)


def atomic_write_text(path: str, text: str) -> None:
  with atomic_path(path) as tmp:
    with open(tmp, 'w', encoding='utf-8') as f:
      f.write(text)


def atomic_write_json(path: str, obj: Any) -> None:
  atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + '\n')


def atomic_save_npz(path: str, **arrays: np.ndarray) -> None:
  with atomic_path(path) as tmp:
    with open(tmp, 'wb') as f:
      np.savez(f, **arrays)


def load_or_make(path: str, load: Callable[[str], Any],
                 make: Callable[[], Any], save: Callable[[str, Any], None],
                 what: str = 'cache entry') -> Any:
  """A cache entry: loaded from `path`, or made and saved there.

  Args:
    path: The entry's file.
    load: Reads the file; may raise on a damaged one.
    make: Makes the value when there is no readable entry.
    save: Writes the value to the file (atomically, e.g. `atomic_path`).
    what: Names the entry in the warning about a damaged one.

  Returns:
    The loaded or made value. A damaged entry is logged, made again and
    overwritten.
  """
  if os.path.exists(path):
    try:
      return load(path)
    except Exception as e:  # pylint: disable=broad-except
      logging.warning('Ignoring the unreadable %s %s (%s); making it again.',
                      what, path, e)
  value = make()
  save(path, value)
  return value


def resolved_flags(*modules: str) -> dict[str, Any]:
  """Values of the flags defined in `modules` (enums as their values)."""
  out = {}
  for module in modules:
    for flag in flags.FLAGS.get_key_flags_for_module(module):
      value = flag.value
      out[flag.name] = value.value if isinstance(value, enum.Enum) else value
  return out


def parse_numbers(
    flag: flags.FlagHolder,
    kind: Callable[[str], Any],
    rule: str,
    valid: Callable[[Any], bool] = lambda _: True,
) -> list[Any]:
  """The values of a `DEFINE_list` flag as numbers.

  Args:
    flag: The list flag.
    kind: `int` or `float`.
    rule: What the values must be, for the error ("rounds >= 1").
    valid: Each parsed value must pass this.

  Returns:
    The parsed values, in order.

  Raises:
    app.UsageError: Naming the flag and `rule`, if a value does not parse as
      `kind` or fails `valid`.
  """
  try:
    values = [kind(v) for v in flag.value]
  except ValueError:
    values = None
  if values is None or not all(valid(v) for v in values):
    raise app.UsageError(f'--{flag.name} must be {rule}; got {flag.value}.')
  return values


def write_flags(run_dir: str, *modules: str) -> None:
  """Writes `{run_dir}/flags.json`: the resolved flags of `modules`."""
  atomic_write_json(os.path.join(run_dir, 'flags.json'),
                    resolved_flags(*modules))
