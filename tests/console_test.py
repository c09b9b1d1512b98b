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
"""Tests for gptfl_tff.console.

`run` is tested on small binaries in subprocesses: what they print and their
exit status is the behaviour under test.
"""

import io
import logging
import os
import subprocess
import sys
from unittest import mock

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np

from gptfl_tff import console
from gptfl_tff import errors

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_USER_MESSAGE = 'data/zero_1.wav: corrupt WAV (no RIFF header); re-download it'

_BINARY = """
import os
import sys

from absl import app
from absl import flags
from absl import logging

from gptfl_tff import console
from gptfl_tff import errors

_MODE = flags.DEFINE_string('mode', 'ok', 'What main does.')
_COUNT = flags.DEFINE_integer('count', 1, 'An integer flag.')


def main(argv):
  del argv
  logging.info('an info line')
  print('TF_CPP_MIN_LOG_LEVEL=' + os.environ.get('TF_CPP_MIN_LOG_LEVEL', ''))
  mode = _MODE.value
  if mode == 'user_error':
    raise errors.UserError(%r)
  if mode == 'multiline_user_error':
    raise errors.UserError('first line\\n  second line')
  if mode == 'usage_error':
    raise app.UsageError('Unexpected arguments: extra')
  if mode == 'bug':
    raise ZeroDivisionError('a bug')
  if mode == 'interrupt':
    raise KeyboardInterrupt()


if __name__ == '__main__':
  console.run(main)
""" % _USER_MESSAGE

# Exits after defining a trivial TFF computation ('define', as a binary that
# stops at a usage error) or after running it ('run'). TFF's stock context of
# `import tensorflow_federated` printed "Exception ignored in:
# ServiceManager.__del__ ... Traceback" at exit, reliably in 'define' mode,
# until gptfl_tff/runtime.py released it.
_TFF_CHILD = """
import sys, numpy as np, tensorflow_federated as tff
from gptfl_tff import runtime
@tff.tensorflow.computation(np.int32)
def add_one(x):
  return x + 1
if sys.argv[1] == 'run':
  runtime.set_default_context(runtime.ContextKind.TEST)
  assert add_one(1) == 2
"""


class RunTest(parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self._binary = self.create_tempfile('binary.py', _BINARY).full_path

  def _run(self, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=_REPO)
    env.pop('TF_CPP_MIN_LOG_LEVEL', None)
    return subprocess.run(
        [sys.executable, self._binary, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )

  def test_success_is_quiet(self):
    result = self._run()
    self.assertEqual(result.returncode, 0, result.stderr)
    self.assertEqual(result.stderr, '')

  def test_user_error_is_one_line_and_exit_2(self):
    result = self._run('--mode=user_error')
    self.assertEqual(result.returncode, 2)
    self.assertEqual(result.stderr, f'error: {_USER_MESSAGE}\n')

  def test_multiline_user_error_is_one_line(self):
    result = self._run('--mode=multiline_user_error')
    self.assertEqual(result.returncode, 2)
    self.assertEqual(result.stderr, 'error: first line second line\n')

  def test_debug_shows_the_traceback(self):
    result = self._run('--mode=user_error', '--debug')
    self.assertEqual(result.returncode, 2)
    self.assertIn('Traceback (most recent call last)', result.stderr)
    self.assertIn('raise errors.UserError', result.stderr)
    self.assertTrue(
        result.stderr.endswith(f'\nerror: {_USER_MESSAGE}\n'), result.stderr
    )

  def test_unexpected_exception_keeps_its_traceback(self):
    result = self._run('--mode=bug')
    self.assertNotIn(result.returncode, (0, 2))
    self.assertIn('Traceback (most recent call last)', result.stderr)
    self.assertIn('ZeroDivisionError: a bug', result.stderr)
    self.assertNotIn('error: a bug', result.stderr)

  def test_usage_error_is_one_line_and_exit_2(self):
    result = self._run('--mode=usage_error')
    self.assertEqual(result.returncode, 2)
    self.assertRegex(
        result.stderr,
        r'\Aerror: Unexpected arguments: extra [^\n]*--helpshort[^\n]*\n\Z',
    )

  @parameterized.named_parameters(
      ('bad_value', '--count=many', r'--count=many'),
      ('unknown_flag', '--cuont=3', r"'cuont'"),
  )
  def test_bad_flag_is_one_line_naming_it_and_exit_2(self, arg, pattern):
    result = self._run(arg)
    self.assertEqual(result.returncode, 2)
    self.assertRegex(
        result.stderr, r'\Aerror: [^\n]*' + pattern + r'[^\n]*\n\Z'
    )

  def test_keyboard_interrupt_is_one_line_and_exit_130(self):
    result = self._run('--mode=interrupt')
    self.assertEqual(result.returncode, 130)
    self.assertEqual(result.stderr, 'interrupted\n')

  def test_info_logs_are_hidden_by_default(self):
    result = self._run()
    self.assertNotIn('an info line', result.stderr)
    # The default leaves TF_CPP_MIN_LOG_LEVEL to quiet_native_logs.
    self.assertIn('TF_CPP_MIN_LOG_LEVEL=\n', result.stdout)

  @parameterized.parameters(('--verbosity=0',), ('-v', '0'), ('-v=1',))
  def test_verbosity_brings_logs_back(self, *args):
    result = self._run(*args)
    self.assertEqual(result.returncode, 0, result.stderr)
    self.assertIn('an info line', result.stderr)
    self.assertIn('TF_CPP_MIN_LOG_LEVEL=0\n', result.stdout)


def _run_python(code: str, *args: str) -> subprocess.CompletedProcess:
  """Runs `python -c code *args`, with no TF_CPP_MIN_LOG_LEVEL exported."""
  env = dict(os.environ, PYTHONPATH=_REPO)
  env.pop('TF_CPP_MIN_LOG_LEVEL', None)
  return subprocess.run(
      [sys.executable, '-c', code, *args],
      capture_output=True,
      text=True,
      env=env,
      timeout=300,
      check=False,
  )


class TffExitTest(parameterized.TestCase):

  @parameterized.parameters('define', 'run')
  def test_exit_prints_no_traceback(self, mode):
    result = _run_python(_TFF_CHILD, mode)
    self.assertEqual(result.returncode, 0, result.stderr)
    self.assertNotIn('Exception ignored', result.stderr)
    self.assertNotIn('Traceback', result.stderr)


class QuietNativeLogsTest(parameterized.TestCase):

  def test_tensorflow_is_silent_after_quiet_native_logs(self):
    result = _run_python(
        'from gptfl_tff import console\n'
        'console.quiet_native_logs()\n'
        'import tensorflow as tf\n'
        'tf.get_logger().warning("a tensorflow warning")\n'
        # What importing googleapis or tensorflow-hub says with setuptools.
        'import warnings\n'
        'warnings.warn("pkg_resources is deprecated as an API.", UserWarning)\n'
        'print(int(tf.reduce_sum(tf.constant([1, 2]))))\n'
    )
    self.assertEqual(result.returncode, 0, result.stderr)
    self.assertEqual(result.stdout, '3\n')
    self.assertEqual(result.stderr, '')

  @parameterized.parameters('experiments', 'generation')
  def test_binary_package_quiets_logs_on_import(self, package):
    init = os.path.join(_REPO, package, '__init__.py')
    if not os.path.exists(init) or not os.path.getsize(init):
      # Bazel runfiles hold an empty, generated __init__.py unless a target
      # lists the package's own.
      self.skipTest(f'{package}/__init__.py is not in the runfiles')
    result = _run_python(
        f'import logging, os, {package}\n'
        'print(os.environ["TF_CPP_MIN_LOG_LEVEL"],'
        ' logging.getLogger("tensorflow").level)\n'
    )
    self.assertEqual(result.returncode, 0, result.stderr)
    self.assertEqual(result.stdout, f'3 {logging.CRITICAL}\n')

  @parameterized.named_parameters(
      ('none', [], None),
      ('long_equals', ['--verbosity=0'], 0),
      ('long_separate', ['--verbosity', '1'], 1),
      ('short_equals', ['-v=-2'], -2),
      ('short_separate', ['--data_dir=x', '-v', '0', 'arg'], 0),
      ('last_wins', ['-v=0', '--verbosity=-1'], -1),
      ('not_an_int', ['--verbosity=loud'], None),
      ('after_double_dash', ['--', '-v=0'], None),
      ('other_flag', ['--vv=0'], None),
  )
  def test_verbosity_in_argv(self, args, expected):
    self.assertEqual(console._verbosity_in_argv(['prog', *args]), expected)

  def test_verbosity_sets_native_level(self):
    saved = os.environ.get('TF_CPP_MIN_LOG_LEVEL')
    try:
      console.quiet_native_logs(['prog', '-v', '0'])
      self.assertEqual(os.environ['TF_CPP_MIN_LOG_LEVEL'], '0')
      os.environ.pop('TF_CPP_MIN_LOG_LEVEL')
      console.quiet_native_logs(['prog'])
      self.assertEqual(os.environ['TF_CPP_MIN_LOG_LEVEL'], '3')
      os.environ['TF_CPP_MIN_LOG_LEVEL'] = '1'
      console.quiet_native_logs(['prog'])  # An exported level wins.
      self.assertEqual(os.environ['TF_CPP_MIN_LOG_LEVEL'], '1')
    finally:
      if saved is None:
        os.environ.pop('TF_CPP_MIN_LOG_LEVEL', None)
      else:
        os.environ['TF_CPP_MIN_LOG_LEVEL'] = saved


class TableTest(absltest.TestCase):

  def test_columns_are_aligned(self):
    table = console.format_table(
        ['method', 'accuracy', 'rounds', 'seconds'],
        [
            ['fedavg', 0.87254, 30, 12345.678],
            ['gpt-fl + fedopt', 0.9, 5, 3.14159],
            ['centralized', None, 0, np.float32(0.5)],
        ],
    )
    self.assertEqual(
        table,
        'method           accuracy  rounds  seconds\n'
        '---------------  --------  ------  -------\n'
        'fedavg             0.8725      30    12346\n'
        'gpt-fl + fedopt       0.9       5    3.142\n'
        'centralized                     0      0.5',
    )

  def test_values_are_formatted(self):
    format_value = console._format_value
    self.assertEqual(format_value(1 / 3), '0.3333')
    self.assertEqual(format_value(123.456), '123.5')
    self.assertEqual(format_value(1e-5), '1e-05')
    self.assertEqual(format_value(float('nan')), 'nan')
    self.assertEqual(format_value(np.int64(7)), '7')
    self.assertEqual(format_value(True), 'True')
    self.assertEqual(format_value(None), '')

  def test_header_only_table(self):
    self.assertEqual(console.format_table(['a', 'bb'], []), 'a  bb\n-  --')

  def test_ragged_row_is_rejected(self):
    with self.assertRaisesRegex(ValueError, 'Row 1 has 1 cells'):
      console.format_table(['a', 'b'], [[1, 2], [3]])

  def test_print_summary_writes_title_and_table_to_stdout(self):
    stdout = io.StringIO()
    with mock.patch.object(sys, 'stdout', stdout):
      console.print_summary('Results', ['split', 'loss'], [['test', 0.25]])
    self.assertEqual(
        stdout.getvalue(),
        '\nResults\nsplit  loss\n-----  ----\ntest   0.25\n',
    )


class ProgressTest(absltest.TestCase):

  def test_known_total_shows_count_and_values(self):
    out = io.StringIO()
    with console.progress(3, 'rounds', unit='round', file=out,
                          mininterval=0) as bar:
      for round_num in range(3):
        bar.update(round=round_num, loss=1 / 3, acc=0.87, s_per_round=3.2)
    self.assertEqual(bar.n, 3)
    text = out.getvalue()
    self.assertIn('rounds', text)
    self.assertIn('3/3', text)
    self.assertIn('round=2, loss=0.3333, acc=0.87, s_per_round=3.2', text)

  def test_unknown_total_works(self):
    out = io.StringIO()
    with console.progress(None, 'generation', unit='item', file=out,
                          mininterval=0) as bar:
      bar.update()
      bar.update(2, loss=0.5)
      bar.update(0, loss=0.25)
      bar.write('a line above the bar')
    self.assertEqual(bar.n, 3)
    text = out.getvalue()
    self.assertIn('3item', text)
    self.assertIn('loss=0.25', text)
    self.assertIn('a line above the bar\n', text)

  def test_close_twice_is_safe(self):
    bar = console.progress(2, file=io.StringIO())
    bar.update()
    bar.close()
    bar.close()


class UserErrorTest(absltest.TestCase):

  def test_subclasses_keep_their_builtin_base(self):

    class DataError(errors.UserError, ValueError):
      pass

    with self.assertRaises(ValueError):
      raise DataError('x')
    self.assertTrue(issubclass(DataError, errors.UserError))
    self.assertTrue(issubclass(errors.UserError, Exception))


if __name__ == '__main__':
  absltest.main()
