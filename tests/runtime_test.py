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
"""Tests for gptfl_tff.runtime."""

import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from unittest import mock

from absl.testing import parameterized
import numpy as np
import tensorflow as tf
import tensorflow_federated as tff

from gptfl_tff import runtime
from gptfl_tff import worker_netns
from gptfl_tff.finetuning import forms

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_CHILD = """
import os, sys, numpy as np, tensorflow_federated as tff
from gptfl_tff import runtime
runtime.set_default_context(runtime.ContextKind.TEST)
@tff.federated_computation(tff.FederatedType(np.int32, tff.CLIENTS))
def total(x):
  return tff.federated_secure_sum_bitwidth(x, 8)
assert total([1, 2, 3]) == 6
print('WORKER', runtime.get_worker().pid, flush=True)
if sys.argv[1] == 'hang':
  import time; time.sleep(600)
"""


def _alive(pid: int) -> bool:
  # Signal 0 checks existence in this PID namespace (Bazel's sandbox has its
  # own, while its /proc is the host's). An exited worker is reaped by the
  # namespace's init, so a lingering zombie only delays `_wait_gone`.
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True
  return True


def _wait_gone(pid: int, seconds: float = 10.0) -> bool:
  deadline = time.monotonic() + seconds
  while time.monotonic() < deadline:
    if not _alive(pid):
      return True
    time.sleep(0.1)
  return False


def _start_child(mode: str) -> tuple[subprocess.Popen, int]:
  env = dict(os.environ, PYTHONPATH=_REPO)
  child = subprocess.Popen(
      [sys.executable, '-c', _CHILD, mode],
      stdout=subprocess.PIPE,
      stderr=subprocess.DEVNULL,
      env=env,
      text=True,
  )
  for line in child.stdout:
    if line.startswith('WORKER'):
      return child, int(line.split()[1])
  child.wait()
  raise AssertionError(f'child exited ({child.returncode}) without a worker')


class RuntimeTest(tf.test.TestCase):

  def test_secure_sum_runs_in_test_context(self):
    ctx = runtime.create_context(runtime.ContextKind.TEST)

    @tff.federated_computation(tff.FederatedType(np.int32, tff.CLIENTS))
    def total(x):
      return tff.federated_secure_sum_bitwidth(x, 8)

    with tff.framework.get_context_stack().install(ctx):
      self.assertEqual(total([1, 2, 3, 4]), 10)

  def test_test_compilation_replaces_secure_sums(self):

    @tff.federated_computation(tff.FederatedType(np.int32, tff.CLIENTS))
    def total(x):
      return tff.federated_secure_sum_bitwidth(x, 8)

    secure = 'federated_secure_sum_bitwidth'
    self.assertIn(secure, forms.intrinsic_uris(total))
    self.assertNotIn(secure, forms.intrinsic_uris(
        runtime.compile_computation(total, runtime.ContextKind.TEST)))

  def test_compiled_computations_are_cached(self):
    cache = self.create_tempdir().full_path

    @tff.federated_computation(tff.FederatedType(np.int32, tff.CLIENTS))
    def total(x):
      return tff.federated_secure_sum_bitwidth(x, 8)

    ctx = runtime.create_context(runtime.ContextKind.TEST, cache_dir=cache)
    with tff.framework.get_context_stack().install(ctx):
      self.assertEqual(total([1, 2, 3, 4]), 10)
    folder = os.path.join(cache, 'compiled')
    (name,) = os.listdir(folder)
    self.assertTrue(name.startswith('test-'))
    # A new context (as in a new process) loads it: the compiler is not run,
    # and the loaded form computes the same.
    ctx = runtime.create_context(runtime.ContextKind.TEST, cache_dir=cache)
    with mock.patch.dict(runtime._COMPILERS, {  # pylint: disable=protected-access
        runtime.ContextKind.TEST: mock.Mock(side_effect=AssertionError(
            'compiled again'))}):
      with tff.framework.get_context_stack().install(ctx):
        self.assertEqual(total([5, 6]), 11)
    # A damaged entry is compiled again and rewritten.
    with open(os.path.join(folder, name), 'wb') as f:
      f.write(b'damaged')
    with self.assertLogs(level='WARNING') as logs:
      compiled = runtime.compile_computation(
          total, runtime.ContextKind.TEST, cache)
    self.assertIn('unreadable cache entry', logs.output[0])
    self.assertNotIn('federated_secure_sum_bitwidth',
                     forms.intrinsic_uris(compiled))
    self.assertGreater(os.path.getsize(os.path.join(folder, name)), 100)

  def test_native_context_runs_plain_sums(self):
    ctx = runtime.create_context(runtime.ContextKind.NATIVE)

    @tff.federated_computation(tff.FederatedType(np.float32, tff.CLIENTS))
    def mean(x):
      return tff.federated_mean(x)

    with tff.framework.get_context_stack().install(ctx):
      self.assertAllClose(mean([1.0, 2.0, 6.0]), 3.0)

  def test_worker_output_does_not_leak_into_python_pipes(self):
    worker = runtime.get_worker()
    for fd in (0, 1, 2):
      self.assertEqual(os.readlink(f'/proc/{worker.pid}/fd/{fd}'), '/dev/null')

  def test_worker_dies_when_python_exits(self):
    child, worker_pid = _start_child('exit')
    child.wait(timeout=120)
    self.assertEqual(child.returncode, 0)
    self.assertTrue(_wait_gone(worker_pid), f'worker {worker_pid} survived')

  def test_worker_dies_when_python_is_killed(self):
    child, worker_pid = _start_child('hang')
    self.assertTrue(_alive(worker_pid))
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    self.assertTrue(_wait_gone(worker_pid), f'worker {worker_pid} survived')

  def test_shutdown_stops_worker(self):
    pid = runtime.get_worker().pid
    runtime.shutdown()
    self.assertTrue(_wait_gone(pid))
    self.assertNotEqual(runtime.get_worker().pid, pid)

  def test_unknown_kind_is_rejected(self):
    with self.assertRaisesRegex(ValueError, 'Unknown context kind'):
      runtime.create_context('fast')


def _children(pid: int) -> list[int]:
  with open(f'/proc/{pid}/task/{pid}/children', encoding='ascii') as f:
    return [int(p) for p in f.read().split()]


def _host_has_other_interface() -> bool:
  with open('/proc/self/net/dev', encoding='ascii') as f:
    return any(line.split(':')[0].strip() != 'lo' for line in list(f)[2:])


def _namespaces_allowed() -> bool:
  probe = subprocess.run(
      [sys.executable, '-c', 'import sys; sys.path.insert(0, sys.argv[1]); '
       'import worker_netns; worker_netns.enter_namespaces()',
       os.path.dirname(worker_netns.__file__)],
      capture_output=True, check=False)
  return probe.returncode == 0


class WorkerNetworkTest(tf.test.TestCase, parameterized.TestCase):

  def tearDown(self):
    runtime.set_worker_network(runtime.WorkerNetwork.AUTO)
    runtime.shutdown()
    super().tearDown()

  def _secure_sum(self, values):
    ctx = runtime.create_context(runtime.ContextKind.TEST)

    @tff.federated_computation(tff.FederatedType(np.int32, tff.CLIENTS))
    def total(x):
      return tff.federated_secure_sum_bitwidth(x, 8)

    with tff.framework.get_context_stack().install(ctx):
      return total(values)

  def test_isolated_worker_listens_in_its_own_namespace_only(self):
    if not _namespaces_allowed():
      self.skipTest('the kernel refuses unprivileged user namespaces')
    runtime.set_worker_network(runtime.WorkerNetwork.ISOLATED)
    self.assertEqual(self._secure_sum([1, 2, 3]), 6)  # Through the relay.
    worker = runtime.get_worker()
    self.assertEqual(worker.network, runtime.WorkerNetwork.ISOLATED)
    self.assertStartsWith(worker.address, 'unix:')
    self.assertNotEqual(os.readlink(f'/proc/{worker.pid}/ns/net'),
                        os.readlink('/proc/self/ns/net'))
    # It does listen (on all interfaces of its namespace, as always), but
    # that namespace has only loopback.
    self.assertNotEmpty(runtime._listening_sockets(worker.pid))  # pylint: disable=protected-access
    self.assertEqual(runtime.exposed_listeners(worker.pid), [])
    folder = os.path.dirname(worker.address[len('unix:'):])
    self.assertEqual(stat.S_IMODE(os.stat(folder).st_mode), 0o700)

  def test_open_worker_is_reported_as_exposed(self):
    runtime.set_worker_network(runtime.WorkerNetwork.OPEN)
    with self.assertLogs(level='WARNING') as logs:
      worker = runtime.get_worker()
    self.assertIn('all network interfaces', '\n'.join(logs.output))
    self.assertEqual(self._secure_sum([1, 2, 3]), 6)
    port = int(worker.address.rsplit(':', 1)[1])
    expected = [('::', port)] if _host_has_other_interface() else []
    self.assertEqual(runtime.exposed_listeners(worker.pid), expected)

  def test_relay_dies_with_the_worker(self):
    if not _namespaces_allowed():
      self.skipTest('the kernel refuses unprivileged user namespaces')
    runtime.set_worker_network(runtime.WorkerNetwork.ISOLATED)
    worker = runtime.get_worker()
    relays = _children(worker.pid)
    self.assertLen(relays, 1)
    runtime.shutdown()
    self.assertTrue(_wait_gone(relays[0]), f'relay {relays[0]} survived')
    self.assertFalse(os.path.exists(worker.address[len('unix:'):]))

  def test_socket_folders_of_killed_runs_are_removed(self):
    if not _namespaces_allowed():
      self.skipTest('the kernel refuses unprivileged user namespaces')
    folders = {}
    for state in ('dead', 'live'):
      folders[state] = tempfile.mkdtemp(prefix='gptfl_worker_')
      listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
      listener.bind(os.path.join(folders[state], 'worker.sock'))
      listener.listen(1)
      if state == 'dead':
        listener.close()  # The file stays; connecting is refused.
      else:
        self.addCleanup(listener.close)
        self.addCleanup(shutil.rmtree, folders[state], True)
    runtime.set_worker_network(runtime.WorkerNetwork.ISOLATED)
    runtime.get_worker()
    self.assertFalse(os.path.exists(folders['dead']))
    self.assertTrue(os.path.exists(folders['live']))

  @parameterized.named_parameters(
      ('auto_falls_back', runtime.WorkerNetwork.AUTO),
      ('isolated_refuses', runtime.WorkerNetwork.ISOLATED))
  def test_kernel_refusing_the_namespace(self, network):
    refusing = self.create_tempfile(
        'refuse.py',
        f'import sys\nsys.exit({worker_netns.EXIT_NO_NAMESPACE})\n')
    runtime.set_worker_network(network)
    with mock.patch.object(runtime, '_LAUNCHER', refusing.full_path):
      if network == runtime.WorkerNetwork.ISOLATED:
        with self.assertRaisesRegex(RuntimeError,
                                    'worker_network=isolated.*refused'):
          runtime.get_worker()
        return
      with self.assertLogs(level='WARNING') as logs:
        worker = runtime.get_worker()
    self.assertEqual(worker.network, runtime.WorkerNetwork.OPEN)
    self.assertRegex('\n'.join(logs.output),
                     'refused.*all network interfaces')
    self.assertEqual(self._secure_sum([4, 5]), 9)

  def test_unknown_network_is_rejected(self):
    with self.assertRaisesRegex(ValueError, 'Unknown worker network'):
      runtime.set_worker_network('closed')


if __name__ == '__main__':
  tf.test.main()
