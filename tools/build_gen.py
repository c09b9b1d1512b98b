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
"""Writes every BUILD file from the project's imports (one target a file).

  python3 tools/build_gen.py          # rewrite the BUILD files
  python3 tools/build_gen.py --check  # exit 1 if one is out of date

`*_main.py` is a `py_binary`, `*_test.py` a `py_test` (with the binaries it
runs as data), anything else a `py_library`; deps are the project modules a
file imports, sorted. Third-party packages come from the venv, not Bazel.
"""

import ast
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ('gptfl_tff', 'experiments', 'generation', 'tests')
VISIBILITY = {
    'gptfl_tff': '//:__subpackages__',
    'experiments': '//tests:__subpackages__',
    'generation': '//tests:__subpackages__',
    'tests': '//tests:__subpackages__',
}
# Tests that build full-size models run long.
LARGE_TESTS = frozenset({'tests/generators/keras_cv_diffusion_test.py'})
SMALL_TESTS = frozenset({
    'tests/audio_test.py', 'tests/io_utils_test.py', 'tests/partition_test.py',
    'tests/prompting/prompts_test.py', 'tests/stages_test.py',
    'tests/synthesis/synthetic_records_test.py',
})
HEADER = '''package(default_visibility = ["{visibility}"])

licenses(["notice"])
'''


def _has_code(path: str) -> bool:
  """Whether a file holds more than a docstring."""
  with open(os.path.join(ROOT, path)) as f:
    body = ast.parse(f.read()).body
  return any(not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))
             for n in body)


def _module_files():
  for package in PACKAGES:
    for root, dirs, files in os.walk(os.path.join(ROOT, package)):
      dirs[:] = sorted(d for d in dirs if d != '__pycache__')
      for f in sorted(files):
        if f.endswith('.py'):
          yield os.path.relpath(os.path.join(root, f), ROOT)


def _label(path: str) -> str:
  folder, name = os.path.split(path[:-3])
  if name == '__init__':
    return f'//{folder}:{os.path.basename(folder)}_package'
  return f'//{folder}:{name}'


def _resolve(name: str, known: set[str]):
  base = name.replace('.', '/')
  for candidate in (base + '.py', base + '/__init__.py'):
    if candidate in known:
      return candidate
  return None


def _imports(path: str, known: set[str]) -> set[str]:
  """Project files `path` imports (modules and the packages they are in)."""
  with open(os.path.join(ROOT, path)) as f:
    tree = ast.parse(f.read())
  found = set()
  for node in ast.walk(tree):
    names = []
    if isinstance(node, ast.ImportFrom) and node.module:
      names = [f'{node.module}.{a.name}' for a in node.names]
      if not all(_resolve(n, known) for n in names):
        names.append(node.module)  # `from module import symbol`
    elif isinstance(node, ast.Import):
      names = [a.name for a in node.names]
    for name in names:
      candidate = _resolve(name, known)
      if candidate and candidate != path:
        found.add(candidate)
  # Only package files with code (a registry, quiet logs) are targets.
  found = {p for p in found if not p.endswith('__init__.py') or _has_code(p)}
  with open(os.path.join(ROOT, path)) as f:
    registry = path.endswith('__init__.py') and 'pkgutil' in f.read()
  if registry:
    # A registry imports its package's modules by name at run time.
    folder = os.path.dirname(path)
    found |= {p for p in known if os.path.dirname(p) == folder and
              not p.endswith('__init__.py')}
  return found


def _binaries_run(path: str, known: set[str]) -> list[str]:
  with open(os.path.join(ROOT, path)) as f:
    text = f.read()
  out = []
  for p in known:
    if p.endswith('_main.py'):
      module = p[:-3].replace('/', '.')
      if f"'{module}'" in text:
        out.append(_label(p))
  return sorted(out)


def _target(path: str, known: set[str]) -> str:
  name = os.path.basename(path)[:-3]
  kind = 'py_library'
  if name.endswith('_main'):
    kind = 'py_binary'
  elif name.endswith('_test'):
    kind = 'py_test'
  lines = [f'{kind}(']
  if name == '__init__':
    lines.append(f'    name = "{os.path.basename(os.path.dirname(path))}'
                 '_package",')
  else:
    lines.append(f'    name = "{name}",')
  if kind == 'py_test':
    size = ('large' if path in LARGE_TESTS else
            'small' if path in SMALL_TESTS else 'medium')
    lines.append(f'    size = "{size}",')
  if path == 'tests/fixtures.py':
    lines.append('    testonly = True,')
  lines.append(f'    srcs = ["{os.path.basename(path)}"],')
  if kind == 'py_test':
    data = _binaries_run(path, known)
    if data:
      lines.append('    data = [' + ', '.join(f'"{d}"' for d in data) + '],')
  folder = os.path.dirname(path)
  deps = sorted(_imports(path, known))
  # Binaries and their tests need the package's __init__ (quiet logs).
  init = os.path.join(folder, '__init__.py')
  if kind == 'py_binary' and init in known and _has_code(init):
    deps.append(init)
  labels = sorted({(':' + _label(d).split(':')[1]) if os.path.dirname(d) ==
                   folder else _label(d) for d in deps},
                  key=lambda s: (not s.startswith(':'), s.split(':')))
  if len(labels) == 1:
    lines.append(f'    deps = ["{labels[0]}"],')
  elif labels:
    lines.append('    deps = [')
    lines += [f'        "{label}",' for label in labels]
    lines.append('    ],')
  lines.append(')')
  return '\n'.join(lines)


def render() -> dict[str, str]:
  """`{BUILD path: content}` for every package folder."""
  files = list(_module_files())
  known = set(files)
  by_folder = {}
  for path in files:
    if path.endswith('__init__.py') and not _has_code(path):
      continue
    by_folder.setdefault(os.path.dirname(path), []).append(path)
  out = {}
  for folder, paths in sorted(by_folder.items()):
    top = folder.split('/')[0]
    targets = [_target(p, known) for p in sorted(
        paths, key=lambda p: (p.endswith('_test.py'), p))]
    out[os.path.join(folder, 'BUILD')] = (
        HEADER.format(visibility=VISIBILITY[top]) + '\n' +
        '\n\n'.join(targets) + '\n')
  return out


def main(argv):
  stale = []
  for path, text in render().items():
    full = os.path.join(ROOT, path)
    old = open(full).read() if os.path.exists(full) else None
    if old != text:
      stale.append(path)
      if '--check' not in argv:
        with open(full, 'w') as f:
          f.write(text)
  if stale and '--check' in argv:
    print('Out of date (run python3 tools/build_gen.py):', *stale)
    return 1
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv))
