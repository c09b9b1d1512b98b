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
"""Tests for gptfl_tff.io_utils."""

import json
import importlib
import os
import stat

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

from gptfl_tff import io_utils


class IoUtilsTest(tf.test.TestCase):

  def test_atomic_writes(self):
    folder = self.create_tempdir().full_path
    io_utils.atomic_write_json(os.path.join(folder, 'a', 'x.json'), {'b': 1})
    with open(os.path.join(folder, 'a', 'x.json')) as f:
      self.assertEqual(json.load(f), {'b': 1})
    io_utils.atomic_save_npz(os.path.join(folder, 'y.npz'), v=np.arange(3))
    with np.load(os.path.join(folder, 'y.npz')) as z:
      self.assertAllEqual(z['v'], [0, 1, 2])

  def test_written_files_get_the_umask_mode_not_0600(self):
    path = os.path.join(self.create_tempdir().full_path, 'f.txt')
    old = os.umask(0o027)
    try:
      importlib.reload(io_utils)
      io_utils.atomic_write_text(path, 'x')
    finally:
      os.umask(old)
      importlib.reload(io_utils)
    self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o640)

  def test_failure_keeps_old_file_and_leaves_no_temp(self):
    folder = self.create_tempdir().full_path
    path = os.path.join(folder, 'x.txt')
    io_utils.atomic_write_text(path, 'old')
    with self.assertRaises(RuntimeError):
      with io_utils.atomic_path(path) as tmp:
        with open(tmp, 'w') as f:
          f.write('half')
        raise RuntimeError('crash')
    with open(path) as f:
      self.assertEqual(f.read(), 'old')
    self.assertEqual(os.listdir(folder), ['x.txt'])

  def test_parse_numbers(self):
    values = flags.FlagValues()
    holder = flags.DEFINE_list('nums', ['1', '2.5'], '', flag_values=values)
    values(['prog'])
    self.assertEqual(io_utils.parse_numbers(holder, float, 'numbers'),
                     [1.0, 2.5])
    with self.assertRaisesRegex(app.UsageError,
                                r'--nums must be integers; got \['):
      io_utils.parse_numbers(holder, int, 'integers')
    with self.assertRaisesRegex(app.UsageError, '--nums must be < 2'):
      io_utils.parse_numbers(holder, float, '< 2', lambda v: v < 2)


if __name__ == '__main__':
  tf.test.main()
