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
"""Tasks: one module per dataset, each exporting `TASKS` (`base.Task`s).

`get(name)` finds a task in any module of this package, so adding a dataset
is adding one module (and its test); nothing else lists them.
"""

import importlib
import pkgutil

_REGISTRY = {}


def _load_all():
  if _REGISTRY:
    return
  for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if info.name == 'base':
      continue
    module = importlib.import_module(f'{__name__}.{info.name}')
    for task in getattr(module, 'TASKS', ()):
      if task.name in _REGISTRY:
        raise ValueError(f'Task {task.name!r} is defined twice.')
      _REGISTRY[task.name] = task


def names() -> tuple[str, ...]:
  """Every task name, sorted."""
  _load_all()
  return tuple(sorted(_REGISTRY))


def get(name: str):
  """Returns the `base.Task` named `name`.

  Raises:
    base.DataError: For an unknown name, listing the known ones.
  """
  _load_all()
  if name not in _REGISTRY:
    from gptfl_tff.tasks import base  # pylint: disable=g-import-not-at-top
    raise base.DataError(
        f'Unknown task {name!r}; pass --task= one of {list(names())}.')
  return _REGISTRY[name]
