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
"""Console output of the binaries: quiet logs, errors, progress, tables.

Every binary under experiments/ and generation/ starts with

  if __name__ == '__main__':
    console.run(main)

instead of `absl.app.run(main)`. Then

  * TensorFlow's C++ and Python log lines and absl INFO lines are hidden;
    `--verbosity=0` (`-v 0`) brings them back, `-v 1` adds DEBUG;
  * a `errors.UserError` (bad data, file or flag), an `app.UsageError` and an
    unparsable flag print one line, `error: <message>`, on stderr and exit
    with status 2; `--debug` prints the traceback too;
  * Ctrl-C prints `interrupted` and exits with status 130;
  * any other exception is a bug and keeps its traceback (status 1).

The packages `experiments` and `generation` call `quiet_native_logs()` from
their `__init__.py`, so that TensorFlow is quiet from its first import.

`progress` draws a bar over rounds, epochs or generated items, and
`print_summary` prints a table at the end of a run:

  with console.progress(rounds, 'rounds', unit='round') as bar:
    for round_num in range(rounds):
      ...
      bar.update(loss=loss, accuracy=accuracy)
  console.print_summary('Results', ['split', 'loss', 'accuracy'], rows)

This module does not import TensorFlow.
"""

import logging
import numbers
import os
import sys
import traceback
import warnings
from typing import Any, Callable, NoReturn, Optional, Sequence, TextIO
import weakref

from absl import app
from absl import flags
from absl import logging as absl_logging
import tqdm

from gptfl_tff import errors

_DEBUG = flags.DEFINE_bool(
    'debug', False,
    'On a user error (bad data, file or flag), also print the traceback.')

# Exit status of user errors (as argparse and most shells use for usage).
USER_ERROR_EXIT_CODE = 2
# Exit status after Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED_EXIT_CODE = 130

# absl's default verbosity, WARNING. `absl.app.run` raises an unset
# --verbosity to INFO; `run` keeps WARNING instead.
_QUIET_VERBOSITY = absl_logging.WARNING
_TF_CPP_MIN_LOG_LEVEL = 'TF_CPP_MIN_LOG_LEVEL'
# 3 hides C++ INFO, WARNING and ERROR lines. Level 2 would still print the
# "Unable to register cuDNN/cuFFT/cuBLAS factory" ERROR lines that
# TensorFlow 2.14 writes at every import; real failures raise in Python.
_TF_CPP_QUIET_LEVEL = '3'
_TF_PYTHON_LOGGER = 'tensorflow'
_PKG_RESOURCES_WARNING = 'pkg_resources is deprecated'
_VERBOSITY_FLAG_NAMES = ('v', 'verbosity')

# Seconds between progress redraws on a terminal, and in logs (not a TTY),
# where every redraw stays in the file.
_TTY_MININTERVAL_SECONDS = 0.5
_LOG_MININTERVAL_SECONDS = 30.0

_SIGNIFICANT_DIGITS = 4


def _verbosity_in_argv(argv: Sequence[str]) -> Optional[int]:
  """Returns the value of the last -v/--verbosity in `argv`, if any.

  Args:
    argv: Command line, program name first.

  Returns:
    The verbosity the user asked for, or `None` when not given or not an
    integer (absl reports the latter when it parses the flags).
  """
  value = None
  args = list(argv[1:])
  for i, arg in enumerate(args):
    if arg == '--':
      break
    if not arg.startswith('-'):
      continue
    name, has_value, text = arg.lstrip('-').partition('=')
    if name not in _VERBOSITY_FLAG_NAMES:
      continue
    if not has_value:
      text = args[i + 1] if i + 1 < len(args) else ''
    try:
      value = int(text)
    except ValueError:
      pass
  return value


def _set_tf_cpp_level(verbosity: int) -> None:
  """Sets TF_CPP_MIN_LOG_LEVEL (read by TensorFlow and its subprocesses)."""
  if verbosity >= absl_logging.INFO:
    level = 0
  else:
    # absl WARNING (-1) -> 1, ERROR (-2) -> 2, FATAL (-3) -> 3.
    level = min(3, -verbosity)
  os.environ[_TF_CPP_MIN_LOG_LEVEL] = str(level)


def quiet_native_logs(argv: Optional[Sequence[str]] = None) -> None:
  """Hides TensorFlow's C++ and Python log lines, unless asked for.

  Call before TensorFlow is imported: its C++ side reads
  TF_CPP_MIN_LOG_LEVEL once. Without -v/--verbosity on the command line, an
  exported TF_CPP_MIN_LOG_LEVEL wins; with it, the C++ level follows the
  flag (0 and above: everything), so import-time lines come back as well.

  Args:
    argv: Command line to look for -v/--verbosity in; `sys.argv` if `None`.
  """
  verbosity = _verbosity_in_argv(sys.argv if argv is None else argv)
  if verbosity is None:
    os.environ.setdefault(_TF_CPP_MIN_LOG_LEVEL, _TF_CPP_QUIET_LEVEL)
    logging.getLogger(_TF_PYTHON_LOGGER).setLevel(logging.CRITICAL)
    # googleapis' namespace package and tensorflow-hub import setuptools'
    # pkg_resources (locked for tensorflow-hub), which warns at import.
    warnings.filterwarnings('ignore', message=_PKG_RESOURCES_WARNING,
                            category=UserWarning)
  else:
    _set_tf_cpp_level(verbosity)
    logging.getLogger(_TF_PYTHON_LOGGER).setLevel(logging.NOTSET)


def _apply_verbosity() -> None:
  """Sets log levels from the parsed --verbosity (see `run`)."""
  verbosity_flag = flags.FLAGS['verbosity']
  tf_logger = logging.getLogger(_TF_PYTHON_LOGGER)
  if verbosity_flag.using_default_value:
    # Assigning marks the flag as set, so absl leaves it at WARNING.
    flags.FLAGS.verbosity = _QUIET_VERBOSITY
    tf_logger.setLevel(logging.CRITICAL)
  else:
    # TensorFlow's logger follows absl's (the root logger's) level. If TF was
    # imported before absl's handler was installed, it has its own handler:
    # keep that one only, so its lines are not printed twice.
    tf_logger.setLevel(logging.NOTSET)
    if tf_logger.handlers:
      tf_logger.propagate = False
    _set_tf_cpp_level(flags.FLAGS.verbosity)


def _one_line(message: str) -> str:
  """Joins the non-empty lines of `message` with spaces."""
  return ' '.join(line.strip() for line in message.splitlines() if line.strip())


def _close_progress_bars() -> None:
  for bar in list(_OPEN_BARS):
    bar.close()


def _exit(message: str, code: int, show_traceback: bool = False) -> NoReturn:
  """Prints `message` as one line on stderr and exits with `code`.

  Args:
    message: What went wrong (and the fix).
    code: Exit status.
    show_traceback: Whether to print the current exception's traceback
      first.

  Raises:
    SystemExit: Always, with `code`.
  """
  _close_progress_bars()
  sys.stdout.flush()
  if show_traceback:
    traceback.print_exc()
  sys.stderr.write(f'{_one_line(message)}\n')
  sys.stderr.flush()
  raise SystemExit(code)


def _debug_requested() -> bool:
  return flags.FLAGS.is_parsed() and _DEBUG.value


def _parse_flags(argv: Sequence[str]) -> list[str]:
  """absl `flags_parser` of `run`: one-line errors, quiet default logs.

  Args:
    argv: Command line, program name first.

  Returns:
    The arguments left after the flags, program name first.

  Raises:
    SystemExit: With status 2 if a flag does not parse or validate.
  """
  try:
    args = flags.FLAGS(argv)
  except flags.Error as e:
    _exit(
        f'error: {e} (run with --helpshort to list the flags)',
        USER_ERROR_EXIT_CODE,
    )
  _apply_verbosity()
  return args


def _guarded(main: Callable[[list[str]], Any]) -> Callable[[list[str]], Any]:
  """Wraps `main` so user errors and Ctrl-C end in one line (see `run`)."""

  def guarded_main(argv: list[str]) -> Any:
    try:
      return main(argv)
    except app.UsageError as e:
      _exit(
          f'error: {e} (run with --helpshort to list the flags)',
          USER_ERROR_EXIT_CODE,
          _debug_requested(),
      )
    except errors.UserError as e:
      _exit(f'error: {e}', USER_ERROR_EXIT_CODE, _debug_requested())
    except KeyboardInterrupt:
      _exit('interrupted', INTERRUPTED_EXIT_CODE, _debug_requested())

  return guarded_main


def run(
    main: Callable[[list[str]], Any], argv: Optional[Sequence[str]] = None
) -> NoReturn:
  """Runs a binary's `main`; drop-in replacement for `absl.app.run(main)`.

  Parses the flags (`--helpshort` and the other absl flags work as usual)
  and then:

  * without -v/--verbosity, logs at WARNING and above only, and hides
    TensorFlow's Python logger below CRITICAL (its ERROR lines are
    graph-building noise such as tf_should_use); with it, follows absl and sets
    TF_CPP_MIN_LOG_LEVEL for subprocesses started later (TFF's worker);
  * an unparsable flag, `app.UsageError` or `errors.UserError` prints
    `error: <message>` as one line on stderr and exits with status 2; with
    `--debug`, after the traceback;
  * KeyboardInterrupt prints `interrupted` and exits with status 130;
  * other exceptions propagate with their traceback.

  Args:
    main: Takes the arguments left after the flags (program name first); its
      return value is the exit status, as for `absl.app.run`.
    argv: Command line, program name first; `sys.argv` if `None`.

  Raises:
    SystemExit: Always, with the exit status.
  """
  app.run(_guarded(main), argv=argv, flags_parser=_parse_flags)
  raise AssertionError('absl.app.run returned')  # It always exits.


def _format_value(value: Any) -> str:
  """Formats a table cell or progress value: floats to 4 significant digits.

  Args:
    value: Any value; `None` becomes ''.

  Returns:
    The text of the value.
  """
  if value is None:
    return ''
  if isinstance(value, (bool, str)):
    return str(value)
  if isinstance(value, numbers.Integral):
    return str(int(value))
  if isinstance(value, numbers.Real):
    value = float(value)
    if 10**_SIGNIFICANT_DIGITS <= abs(value) < 1e15:
      return f'{value:.0f}'  # No exponent for large counts or seconds.
    return f'{value:.{_SIGNIFICANT_DIGITS}g}'
  return str(value)


def _is_number(value: Any) -> bool:
  return isinstance(value, numbers.Real) and not isinstance(value, bool)


def format_table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]]
) -> str:
  """Formats rows as a plain-text table with aligned columns.

  Floats get 4 significant digits (`_format_value`); numeric columns are
  right-aligned, others left-aligned; `None` cells are blank.

  Args:
    headers: Column titles.
    rows: One sequence of cells per row, as many as `headers`.

  Returns:
    The table: a header line, a rule of dashes, one line per row; lines have
    no trailing spaces and the text no final newline.

  Raises:
    ValueError: If a row's length differs from the number of headers.
  """
  headers = [str(h) for h in headers]
  for i, row in enumerate(rows):
    if len(row) != len(headers):
      raise ValueError(
          f'Row {i} has {len(row)} cells but there are {len(headers)} '
          f'headers ({headers}).'
      )
  cells = [[_format_value(value) for value in row] for row in rows]
  numeric = [
      any(_is_number(row[c]) for row in rows)
      and all(_is_number(row[c]) or row[c] is None for row in rows)
      for c in range(len(headers))
  ]
  widths = [
      max([len(headers[c])] + [len(line[c]) for line in cells])
      for c in range(len(headers))
  ]

  def render(line: Sequence[str]) -> str:
    padded = [
        text.rjust(width) if right else text.ljust(width)
        for text, width, right in zip(line, widths, numeric)
    ]
    return '  '.join(padded).rstrip()

  lines = [render(headers), '  '.join('-' * w for w in widths)]
  lines.extend(render(line) for line in cells)
  return '\n'.join(lines)


def print_summary(
    title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
  """Prints `title` and `format_table(headers, rows)` on stdout.

  Args:
    title: A line above the table.
    headers: Column titles.
    rows: One sequence of cells per row.

  Raises:
    ValueError: If a row's length differs from the number of headers.
  """
  table = format_table(headers, rows)
  _close_progress_bars()
  print(f'\n{title}\n{table}', flush=True)


class Progress:
  """A progress bar on stderr: count, rate, elapsed time and ETA.

  Use `progress` to make one. Values passed to `update` are shown after the
  bar (floats to 4 significant digits), e.g.

    rounds  40%|####      | 12/30 [00:38<00:57, 3.2s/round, loss=0.41, ...]

  The bar redraws at most every 0.5 s on a terminal and every 30 s
  otherwise, so CI logs stay short. Closing it (or leaving its `with`
  block) draws its final state.
  """

  def __init__(
      self,
      total: Optional[int],
      desc: str = '',
      unit: str = 'it',
      file: Optional[TextIO] = None,
      mininterval: Optional[float] = None,
      initial: int = 0,
      enabled: bool = True,
  ):
    """Starts the bar.

    Args:
      total: Number of steps; `None` if unknown (no percentage or ETA then).
      desc: Label in front of the bar.
      unit: Name of one step, e.g. 'round' or 'epoch'.
      file: Where to draw; stderr if `None`.
      mininterval: Seconds between redraws; `None` picks 0.5 on a terminal
        and 30 otherwise.
      initial: Steps already done (a resumed run).
      enabled: False draws nothing (the bar still counts).
    """
    file = sys.stderr if file is None else file
    if mininterval is None:
      is_tty = getattr(file, 'isatty', lambda: False)()
      mininterval = (
          _TTY_MININTERVAL_SECONDS if is_tty else _LOG_MININTERVAL_SECONDS
      )
    self._bar = tqdm.tqdm(
        total=total,
        desc=desc,
        unit=unit,
        file=file,
        mininterval=mininterval,
        dynamic_ncols=True,
        initial=initial,
        disable=not enabled,
    )
    _OPEN_BARS.add(self)

  @property
  def n(self) -> int:
    """Steps done so far."""
    return self._bar.n

  def update(self, n: int = 1, **postfix: Any) -> None:
    """Advances the bar by `n` steps and shows `postfix` after it.

    Args:
      n: Steps done since the last update (0 only changes the values).
      **postfix: Values to show, e.g. round=12, loss=0.41, s_per_round=3.2;
        they replace those of the previous update.
    """
    if postfix:
      text = ', '.join(f'{k}={_format_value(v)}' for k, v in postfix.items())
      self._bar.set_postfix_str(text, refresh=False)
    self._bar.update(n)

  def write(self, message: str) -> None:
    """Prints a line above the bar without breaking it."""
    self._bar.write(message, file=self._bar.fp)

  def close(self) -> None:
    """Draws the final state and ends the line; safe to call twice."""
    _OPEN_BARS.discard(self)
    self._bar.close()

  def __enter__(self) -> 'Progress':
    return self

  def __exit__(self, *exc_info) -> None:
    self.close()


_OPEN_BARS: 'weakref.WeakSet[Progress]' = weakref.WeakSet()


def progress(
    total: Optional[int], desc: str = '', unit: str = 'it', **kwargs: Any
) -> Progress:
  """Returns a `Progress` bar; use it as a context manager.

  Args:
    total: Number of steps (rounds, epochs, items); `None` if unknown.
    desc: Label in front of the bar.
    unit: Name of one step.
    **kwargs: `file`, `mininterval`, `initial` and `enabled`, passed to
      `Progress`.

  Returns:
    The started bar.
  """
  return Progress(total, desc, unit, **kwargs)
