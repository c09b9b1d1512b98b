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
"""TFF execution contexts owned by this project.

TFF runs computations in a C++ `worker_binary` subprocess. The stock
`tff.backends.native.set_sync_local_cpp_execution_context` starts it lazily
from whatever thread first runs a computation, lets it inherit Python's
stdout/stderr, and relies on `__del__` to stop it, which fails at interpreter
exit: the worker outlives Python and holds pipes open (CI then hangs).

This module starts the worker itself, eagerly, from the calling thread, with

  * `PR_SET_PDEATHSIG = SIGKILL`, so the kernel kills the worker when the
    Python process dies for any reason (exit, crash, SIGKILL);
  * an `atexit` hook that stops it cleanly on normal exit;
  * its output sent to a log file (or discarded), never to Python's pipes.

`import tensorflow_federated` also installs a stock default context whose
`ServiceManager` is only released when the interpreter tears its modules
down; its `__del__` then finds `subprocess` already set to `None` and Python
prints "Exception ignored in: ... ServiceManager.__del__ ... AttributeError".
Importing this module registers an `atexit` hook that drops TFF's default
context while the interpreter is still whole, so that it is freed cleanly.

The worker's network (`WorkerNetwork`): `worker_binary` serves
unauthenticated gRPC on all interfaces of its network namespace (it has no
bind-address flag) and runs any TensorFlow graph it is sent, file reads
included. By default the worker is started in a network namespace of its
own, which holds only a loopback interface, and reached through a Unix
socket in a folder only this user can enter (`worker_netns`): no port is
open to other hosts, nor to other users of this host. Where the kernel
refuses unprivileged namespaces, `AUTO` falls back to the stock worker on a
TCP port of all interfaces and says so with a warning; `ISOLATED` refuses to
start instead. `exposed_listeners` checks a running worker.

Two kinds of context are provided, both on the same worker:

  * `ContextKind.NATIVE`: the native compiler. Secure-sum intrinsics are not
    executable here (TFF reports "Cannot embed a federated value").
  * `ContextKind.TEST`: the test compiler, which replaces secure-sum
    intrinsics with their plain-sum bodies. This is how secure aggregation is
    simulated: the arithmetic (clipping, quantisation, modular wrap-around) is
    the production one, only the cryptography is absent.

With a `cache_dir`, a context keeps what its compiler made of each
computation, keyed by `computation_digest` and the context kind: the same
computation in a later process is not compiled again (about 2 s for a
secure round of the keyword model).

Several workers (on one or more machines) run rounds as one simulation
through `WorkerPool`, TFF's mergeable-computation context; `serve_worker`
starts a worker for it on a machine.

Usage:

  runtime.set_default_context(runtime.ContextKind.TEST, clients_in_parallel=5)
"""

import asyncio
import atexit
import enum
import functools
import gc
import glob
import hashlib
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Callable, Optional, Sequence

from absl import logging
import grpc
import portpicker
import tensorflow as tf
import tensorflow_federated as tff
from tensorflow_federated.proto.v0 import computation_pb2

from gptfl_tff import errors
from gptfl_tff import io_utils
from gptfl_tff import worker_netns

# Internal TFF helpers that the stock contexts pass to SyncExecutionContext.
# They convert eager tensors to numpy on the way in and out.
from tensorflow_federated.python.core.environments.tensorflow_frontend import tensorflow_computation  # pylint: disable=g-direct-tensorflow-import

_GRPC_MAX_MESSAGE_BYTES = 2 * 1000 * 1000 * 1000
_GRPC_OPTIONS = (
    ('grpc.max_message_length', _GRPC_MAX_MESSAGE_BYTES),
    ('grpc.max_receive_message_length', _GRPC_MAX_MESSAGE_BYTES),
    ('grpc.max_send_message_length', _GRPC_MAX_MESSAGE_BYTES),
)
_START_TIMEOUT_SECONDS = 60.0
# The worker's port inside its own network namespace (nothing else is there).
_NAMESPACE_PORT = 10000
# The program that starts the worker in its own namespace.
_LAUNCHER = worker_netns.__file__
# sockaddr_un.sun_path holds 108 bytes, the terminating NUL included.
_MAX_SOCKET_PATH = 107


class ContextKind(enum.Enum):
  """Which TFF compiler pipeline a context uses."""

  NATIVE = 'native'
  TEST = 'test'


class WorkerNetwork(enum.Enum):
  """Where the local worker's gRPC port is reachable from."""

  AUTO = 'auto'  # ISOLATED where the kernel allows it, else OPEN + warning.
  ISOLATED = 'isolated'  # Own network namespace; a Unix socket reaches it.
  OPEN = 'open'  # TCP on all interfaces (the stock TFF behaviour).


def worker_binary_path() -> str:
  """Returns the path of the `worker_binary` shipped in the TFF package."""
  package_dir = os.path.dirname(os.path.abspath(tff.__file__))
  return os.path.join(package_dir, 'data', 'worker_binary')


def _die_with_parent() -> None:
  """Runs in the forked child before exec: SIGKILL when the parent dies.

  (Strictly, when the thread that started it exits: start workers from a
  thread that lives as long as they should, such as the main thread.)
  """
  worker_netns.die_with_parent()
  # Detach from the terminal's process group so Ctrl-C reaches Python only;
  # Python then stops the worker through `close`.
  os.setpgid(0, 0)


def _remove_dead_socket_folders(parent: str) -> None:
  """Removes socket folders of isolated workers that died unstopped.

  A Python process killed with SIGKILL cannot remove its worker's folder.
  A folder of this user whose socket refuses connections has no worker
  behind it (a live relay accepts; a starting one has no socket yet).
  """
  for folder in glob.glob(os.path.join(parent, 'gptfl_worker_*')):
    path = os.path.join(folder, 'worker.sock')
    try:
      if os.stat(folder).st_uid != os.getuid():
        continue
      with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        probe.connect(path)
    except ConnectionRefusedError:
      shutil.rmtree(folder, ignore_errors=True)
    except OSError:
      continue


class Worker:
  """A `worker_binary` subprocess bound to this Python process.

  Attributes:
    pid: The worker's process id.
    network: `WorkerNetwork.ISOLATED` or `WorkerNetwork.OPEN`: how it was
      started (never `AUTO`).
    address: The gRPC target Python reaches it through (`unix:...` or
      `localhost:port`).
    concurrency: Its `max_concurrent_computation_calls`.
  """

  def __init__(
      self,
      max_concurrent_computation_calls: int = -1,
      log_path: Optional[str] = None,
      network: Optional[WorkerNetwork] = None,
  ):
    """Starts the worker and waits until it serves.

    Args:
      max_concurrent_computation_calls: Passed to the worker: how many client
        computations may run at once (non-positive: no limit).
      log_path: File that receives the worker's stdout and stderr. `None`
        discards them.
      network: Where its port may be reachable from (see `WorkerNetwork`);
        `None`: as `set_worker_network` says.

    Raises:
      RuntimeError: If the binary is missing, if `network` is `ISOLATED` and
        the kernel refuses the namespace, or if the worker does not start
        serving within 60 seconds.
    """
    binary = worker_binary_path()
    if not os.path.isfile(binary):
      raise RuntimeError(
          f'TFF worker binary not found at {binary}. Reinstall '
          'tensorflow-federated from requirements.lock.'
      )
    self.concurrency = max_concurrent_computation_calls
    self._lock = threading.Lock()
    self._folder = None
    self._process = None
    self._channel = None
    if log_path:
      self._log = open(log_path, 'ab')  # pylint: disable=consider-using-with
    else:
      self._log = subprocess.DEVNULL
    atexit.register(self.close)
    try:
      self._start(binary, [f'--max_concurrent_computation_calls='
                           f'{max_concurrent_computation_calls}'],
                  log_path, network or _NETWORK)
    except BaseException:
      self.close()
      raise

  def _start(self, binary: str, flags: list[str], log_path: Optional[str],
             network: WorkerNetwork) -> None:
    """Starts the worker as `network` asks (see `WorkerNetwork`)."""
    self.network = WorkerNetwork.OPEN
    if network == WorkerNetwork.OPEN:
      port = self._start_open(binary, flags, log_path)
      logging.warning(
          'TFF worker: --worker_network=open, serving unauthenticated gRPC '
          'on all network interfaces (port %d).', port)
      return
    if self._start_isolated(binary, flags, log_path):
      self.network = WorkerNetwork.ISOLATED
      logging.info('TFF worker pid %d: own network namespace, reached '
                   'through %s; no port open to the network.', self.pid,
                   self.address)
      return
    refusal = 'the kernel refused a private network namespace'
    if network == WorkerNetwork.ISOLATED:
      raise RuntimeError(
          f'--worker_network=isolated: {refusal}. Allow unprivileged user '
          'namespaces (sysctl user.max_user_namespaces > 0; on Debian '
          'kernel.unprivileged_userns_clone=1; on Ubuntu >= 23.10 '
          'kernel.apparmor_restrict_unprivileged_userns=0), or pass '
          '--worker_network=auto or open on a trusted, firewalled host.')
    port = self._start_open(binary, flags, log_path)
    logging.warning(
        'TFF worker: %s, so it serves unauthenticated gRPC on all network '
        'interfaces (port %d) while this simulation runs. Run on a trusted '
        'host or behind a firewall.', refusal, port)

  def _spawn(self, args: list[str], target: str) -> None:
    if self._channel is not None:
      self._channel.close()
    self._process = subprocess.Popen(  # pylint: disable=consider-using-with
        args,
        stdin=subprocess.DEVNULL,
        stdout=self._log,
        stderr=self._log,
        preexec_fn=_die_with_parent,
        close_fds=True,
    )
    self.pid = self._process.pid
    self.address = target
    self._channel, self.stub = _connect(target)

  def _wait_ready(self, log_path: Optional[str],
                  may_refuse: bool = False) -> bool:
    """Waits until the worker serves.

    Args:
      log_path: The worker's log, for error messages.
      may_refuse: Whether the process is the namespace launcher, which
        exits with `worker_netns.EXIT_NO_NAMESPACE` when refused.

    Returns:
      True once it serves; False if the launcher was refused.

    Raises:
      RuntimeError: If it exits otherwise, or does not serve within 60 s.
    """
    deadline = time.monotonic() + _START_TIMEOUT_SECONDS
    while not self.stub.is_ready:
      code = self._process.poll()
      if code is not None:
        if may_refuse and code == worker_netns.EXIT_NO_NAMESPACE:
          return False
        raise RuntimeError(
            f'TFF worker exited with code {code} before serving; see '
            f'{log_path or "its log (pass log_path)"}.')
      if time.monotonic() > deadline:
        raise RuntimeError('TFF worker did not start serving within 60 s; '
                           f'see {log_path or "its log (pass log_path)"}.')
      time.sleep(0.05)
    return True

  def _start_isolated(self, binary: str, flags: list[str],
                      log_path: Optional[str]) -> bool:
    """Starts the worker in its own network namespace (`worker_netns`).

    Returns:
      True once it serves; False if the kernel refused the namespace.

    Raises:
      RuntimeError: If the worker fails for another reason.
    """
    parent = tempfile.gettempdir()
    if len(os.path.join(parent, 'gptfl_worker_XXXXXXXX', 'worker.sock')
           ) > _MAX_SOCKET_PATH:
      parent = '/tmp'
    _remove_dead_socket_folders(parent)
    self._folder = tempfile.mkdtemp(prefix='gptfl_worker_', dir=parent)
    path = os.path.join(self._folder, 'worker.sock')
    self._spawn([sys.executable, _LAUNCHER, path,
                 str(_NAMESPACE_PORT), binary, f'--port={_NAMESPACE_PORT}',
                 *flags], f'unix:{path}')
    return self._wait_ready(log_path, may_refuse=True)

  def _start_open(self, binary: str, flags: list[str],
                  log_path: Optional[str]) -> int:
    """Starts the stock worker on a TCP port of all interfaces.

    Returns:
      The port.
    """
    port = portpicker.pick_unused_port()
    self._spawn([binary, f'--port={port}', *flags], f'localhost:{port}')
    self._wait_ready(log_path)
    return port

  def cpu_seconds(self) -> float:
    """CPU seconds (user + system) the worker has used so far."""
    with open(f'/proc/{self.pid}/stat', encoding='ascii') as f:
      fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')

  def peak_memory_mb(self) -> float:
    """The worker's peak resident memory so far (VmHWM), in MiB."""
    with open(f'/proc/{self.pid}/status', encoding='ascii') as f:
      for line in f:
        if line.startswith('VmHWM:'):
          return int(line.split()[1]) / 1024.0
    return 0.0

  def alive(self) -> bool:
    """Whether the worker process is running."""
    return self._process is not None and self._process.poll() is None

  def close(self) -> None:
    """Stops the worker; safe to call more than once."""
    with self._lock:
      if self._process is not None and self._process.poll() is None:
        self._process.send_signal(signal.SIGINT)
        try:
          self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
          self._process.kill()
          self._process.wait()
      if self._channel is not None:
        self._channel.close()
        self._channel = None
      if self._folder:
        shutil.rmtree(self._folder, ignore_errors=True)
      if self._log is not subprocess.DEVNULL and not self._log.closed:
        self._log.close()


_WORKER: Optional[Worker] = None
_NETWORK = WorkerNetwork.AUTO


def set_worker_network(network: WorkerNetwork) -> None:
  """Sets how this process's worker is started (see `WorkerNetwork`).

  A running worker started otherwise is restarted by the next `get_worker`.

  Args:
    network: The setting; `AUTO` is the default.

  Raises:
    ValueError: If `network` is not a `WorkerNetwork`.
  """
  global _NETWORK
  if not isinstance(network, WorkerNetwork):
    raise ValueError(
        f'Unknown worker network {network!r}; use one of '
        f'{[n.value for n in WorkerNetwork]}.')
  _NETWORK = network


def _listening_sockets(pid: int) -> list[tuple[str, int]]:
  """(address, port) of every listening TCP socket process `pid` holds."""
  inodes = set()
  for fd in os.listdir(f'/proc/{pid}/fd'):
    try:
      target = os.readlink(f'/proc/{pid}/fd/{fd}')
    except OSError:
      continue
    if target.startswith('socket:['):
      inodes.add(target[len('socket:['):-1])
  found = []
  for table, width in (('tcp', 8), ('tcp6', 32)):
    with open(f'/proc/{pid}/net/{table}', encoding='ascii') as f:
      next(f)
      for line in f:
        fields = line.split()
        local, state, inode = fields[1], fields[3], fields[9]
        if state != '0A' or inode not in inodes:  # 0A: TCP_LISTEN.
          continue
        address, port = local.split(':')
        # /proc prints each 32-bit word of the address in host (little
        # endian) byte order.
        raw = b''.join(bytes.fromhex(address[i:i + 8])[::-1]
                       for i in range(0, width, 8))
        family = socket.AF_INET if width == 8 else socket.AF_INET6
        found.append((socket.inet_ntop(family, raw), int(port, 16)))
  return found


def exposed_listeners(pid: int) -> list[tuple[str, int]]:
  """Listening TCP sockets of process `pid` that other hosts could reach.

  A socket is reachable from other hosts when it is bound to an address
  other than loopback (the wildcard included) in a network namespace that
  has an interface other than `lo`.

  Args:
    pid: A process id (e.g. `get_worker().pid`).

  Returns:
    `(address, port)` pairs; empty when nothing is exposed.
  """
  with open(f'/proc/{pid}/net/dev', encoding='ascii') as f:
    interfaces = {line.split(':')[0].strip() for line in list(f)[2:]}
  if not interfaces - {'lo'}:
    return []
  exposed = []
  for address, port in _listening_sockets(pid):
    if not ipaddress.ip_address(address).is_loopback:
      exposed.append((address, port))
  return exposed


# Part of every cache key: raise it when what the project derives from a
# computation changes (its compilers, the audit's rules), so that no cache
# entry made by older code is served.
CACHE_VERSION = 'gptfl-cache-1'


def computation_digest(comp: tff.Computation) -> str:
  """SHA-256 of a computation's proto, the TFF version and CACHE_VERSION."""
  proto = tff.framework.ConcreteComputation.get_proto(comp)
  digest = hashlib.sha256(f'{tff.__version__}/{CACHE_VERSION}'.encode())
  digest.update(proto.SerializeToString(deterministic=True))
  return digest.hexdigest()


def _compile_test(comp):
  comp = tff.backends.test.replace_secure_intrinsics_with_bodies(comp)
  return tff.backends.native.desugar_and_transform_to_native(comp)


_COMPILERS = {
    ContextKind.NATIVE: tff.backends.native.desugar_and_transform_to_native,
    ContextKind.TEST: _compile_test,
}


def compile_computation(comp: tff.Computation,
                        kind: ContextKind = ContextKind.TEST,
                        cache_dir: Optional[str] = None):
  """The form of `comp` that a context of `kind` executes.

  Args:
    comp: The computation.
    kind: The context kind whose compiler is used.
    cache_dir: Folder of earlier compilations (`None`: always compile). A
      damaged entry is compiled again and overwritten.

  Returns:
    The compiled computation.
  """
  if not cache_dir:
    return _COMPILERS[kind](comp)

  def load(path):
    with open(path, 'rb') as f:
      proto = computation_pb2.Computation.FromString(f.read())
    return tff.framework.ConcreteComputation(
        computation_proto=proto,
        context_stack=tff.framework.get_context_stack())

  def save(path, compiled):
    with io_utils.atomic_path(path) as tmp, open(tmp, 'wb') as f:
      f.write(tff.framework.ConcreteComputation.get_proto(
          compiled).SerializeToString(deterministic=True))

  return io_utils.load_or_make(
      os.path.join(cache_dir, 'compiled',
                   f'{kind.value}-{computation_digest(comp)}.pb'),
      load, lambda: _COMPILERS[kind](comp), save)


def _release_default_context() -> None:
  """Drops TFF's default context while the interpreter is still whole.

  Registered with `atexit` when this module is imported; `atexit` hooks run
  before the interpreter clears module globals. Replacing the default
  context frees the executor stack it holds, such as the stock
  `ServiceManager` of `import tensorflow_federated` (whose `__del__` would
  otherwise run at teardown, find `subprocess` set to `None` and print
  "Exception ignored in ... ServiceManager.__del__"); `gc.collect` frees it
  even from a reference cycle. This process's worker is stopped by its own,
  later-registered hook (`Worker.close`), which runs first; that is fine, as
  the project's contexts do not call the worker when they are released.
  """
  tff.test.set_no_default_context()
  gc.collect()


def get_worker(
    clients_in_parallel: int = -1, log_path: Optional[str] = None
) -> Worker:
  """Returns this process's worker, starting (or restarting) it if needed.

  Args:
    clients_in_parallel: Maximum concurrent computation calls in the worker;
      non-positive means no limit. A change restarts the worker.
    log_path: Optional file for the worker's output.

  Returns:
    The running `Worker`, started as `set_worker_network` says.
  """
  global _WORKER
  if _WORKER is not None and (
      not _WORKER.alive() or _WORKER.concurrency != clients_in_parallel
      or _NETWORK not in (WorkerNetwork.AUTO, _WORKER.network)
  ):
    _WORKER.close()
    _WORKER = None
  if _WORKER is None:
    _WORKER = Worker(clients_in_parallel, log_path)
  return _WORKER


def _executor_factory(stub, default_num_clients: int = 0):
  """Executors on the worker behind `stub` (a `RemoteExecutorGrpcStub`)."""

  def stack_fn(cardinalities):
    if cardinalities.get(tff.CLIENTS) is None:
      cardinalities[tff.CLIENTS] = default_num_clients
    executor = tff.framework.RemoteExecutor(stub)
    executor.set_cardinalities(cardinalities)
    return executor

  return tff.framework.ResourceManagingExecutorFactory(stack_fn)


def create_context(
    kind: ContextKind,
    clients_in_parallel: int = -1,
    default_num_clients: int = 0,
    log_path: Optional[str] = None,
    cache_dir: Optional[str] = None,
) -> tff.framework.SyncExecutionContext:
  """Creates a synchronous context on this process's worker.

  Args:
    kind: Which compiler to use (see module docstring).
    clients_in_parallel: How many client computations the worker runs at
      once; non-positive means no limit.
    default_num_clients: Cardinality of CLIENTS when it cannot be inferred.
    log_path: Optional file for the worker's output.
    cache_dir: Folder of compiled computations (see `compile_computation`);
      `None` compiles every computation.

  Returns:
    A `tff.framework.SyncExecutionContext`.

  Raises:
    ValueError: If `kind` is not a `ContextKind`.
  """
  if not isinstance(kind, ContextKind):
    raise ValueError(
        f'Unknown context kind {kind!r}; use one of '
        f'{[k.value for k in ContextKind]}.'
    )
  worker = get_worker(clients_in_parallel, log_path)
  return _sync_context(worker.stub, kind, default_num_clients, cache_dir)


def set_default_context(
    kind: ContextKind = ContextKind.TEST,
    clients_in_parallel: int = -1,
    default_num_clients: int = 0,
    log_path: Optional[str] = None,
    cache_dir: Optional[str] = None,
) -> tff.framework.SyncExecutionContext:
  """Creates a context (see `create_context`) and makes it TFF's default.

  Args:
    kind: Which compiler to use.
    clients_in_parallel: How many client computations run at once.
    default_num_clients: Cardinality of CLIENTS when it cannot be inferred.
    log_path: Optional file for the worker's output.
    cache_dir: Folder of compiled computations (see `create_context`).

  Returns:
    The context that was installed.
  """
  context = create_context(
      kind, clients_in_parallel, default_num_clients, log_path, cache_dir
  )
  tff.framework.get_context_stack().set_default_context(context)
  return context


def shutdown() -> None:
  """Stops this process's worker, if any."""
  global _WORKER
  if _WORKER is not None:
    _WORKER.close()
    _WORKER = None


class WorkerError(errors.UserError, RuntimeError):
  """A worker of a multi-worker simulation cannot be reached or used."""


def _connect(address: str):
  """`(channel, RemoteExecutorGrpcStub)` for a worker's gRPC target."""
  channel = grpc.insecure_channel(address, _GRPC_OPTIONS)
  return channel, tff.framework.RemoteExecutorGrpcStub(channel)


def _sync_context(stub, kind: ContextKind = ContextKind.NATIVE,
                  default_num_clients: int = 0,
                  cache_dir: Optional[str] = None):
  """A synchronous context on the worker behind `stub`."""
  return tff.framework.SyncExecutionContext(
      executor_fn=_executor_factory(stub, default_num_clients),
      compiler_fn=functools.partial(compile_computation, kind=kind,
                                    cache_dir=cache_dir),
      transform_args=tensorflow_computation.transform_args,
      transform_result=tensorflow_computation.transform_result,
  )


def serve_worker(port: int, clients_in_parallel: int = -1) -> None:
  """Replaces this process with a worker on `port` of all interfaces.

  For the machines of a multi-machine simulation (`WorkerPool`); the worker
  runs until it is stopped, so this does not return.

  Args:
    port: The port.
    clients_in_parallel: Client computations it runs at once (<= 0: no
      limit).

  Raises:
    OSError: If the binary cannot be executed.
  """
  binary = worker_binary_path()
  os.execv(binary, [
      binary, f'--port={port}',
      f'--max_concurrent_computation_calls={clients_in_parallel}'])


def unreachable_workers(addresses: Sequence[str],
                        timeout_seconds: float = 5.0) -> list[str]:
  """The addresses among `addresses` whose worker does not answer.

  Args:
    addresses: gRPC targets (`host:port`, or `unix:PATH` for local workers).
    timeout_seconds: How long to wait for each.

  Returns:
    The unreachable addresses, in the given order.
  """
  missing = []
  for address in addresses:
    channel = grpc.insecure_channel(address, _GRPC_OPTIONS)
    try:
      grpc.channel_ready_future(channel).result(timeout=timeout_seconds)
    except grpc.FutureTimeoutError:
      missing.append(address)
    finally:
      channel.close()
  return missing


# TFF's async context retries a retryable error (a worker that does not
# answer) forever, backing off up to 30 s; the pool retries for a bounded
# time and then names the worker.
_RETRYING_INVOKE = tff.framework.AsyncExecutionContext.invoke.__wrapped__


def check_reachable(addresses: Sequence[str]) -> None:
  """Raises `WorkerError` naming the workers that do not answer.

  Args:
    addresses: gRPC targets (`host:port`).

  Raises:
    WorkerError: If any does not answer within 5 s.
  """
  missing = unreachable_workers(addresses)
  if missing:
    raise unreachable_error(missing)


def unreachable_error(missing: Sequence[str]) -> WorkerError:
  """The error for workers `missing` that do not answer, with the fix."""
  return WorkerError(
      f'TFF workers not reachable: {", ".join(missing)}. Start one on each '
      'machine (python -m experiments.worker_main --worker_port=P), '
      'reachable from this one over a private network or a tunnel.')


class _BoundedRetryContext(tff.framework.AsyncExecutionContext):
  """`AsyncExecutionContext` that gives up on a worker after a while."""

  def __init__(self, *args, retry_seconds: float, **kwargs):
    super().__init__(*args, **kwargs)
    self._retry_seconds = retry_seconds

  async def invoke(self, comp, arg):
    deadline, delay = None, 0.5
    while True:
      try:
        return await _RETRYING_INVOKE(self, comp, arg)
      except tff.framework.RetryableError:
        if deadline is None:  # Counted from the first failure.
          deadline = time.monotonic() + self._retry_seconds
        if time.monotonic() > deadline:
          raise
        await asyncio.sleep(delay)
        delay = min(2 * delay, 8.0)


class WorkerPool:
  """Several `worker_binary` processes driven as one simulation.

  Runs computations through TFF's mergeable-computation context
  (`tff.framework.MergeableCompExecutionContext`): a computation with one
  (logical) aggregation is compiled to `MergeableCompForm`; each worker runs
  `up_to_merge` on its share of the clients, the partial aggregates are
  merged, and `after_merge` finishes the round. The stock remote path does
  not execute secure-sum intrinsics, so with `ContextKind.TEST` they are
  first replaced by their bodies, as the TEST context does: each worker sums
  its clients' quantised integers, and the partial sums are merged by
  addition, which is exact, so the result is the one-worker result (tested
  bit for bit).

  Workers read the clients' data files themselves, so the files must be on
  storage every worker can read (`check_readable`). A call to a worker
  that stops answering is retried for `retry_seconds` from its first failure
  (TFF's own contexts retry forever); then the round fails with a
  `WorkerError` naming it, and the run resumes from its last checkpoint when
  rerun. `close` releases the connections.
  """

  def __init__(self, addresses: Sequence[str],
               kind: ContextKind = ContextKind.TEST,
               retry_seconds: float = 60.0):
    """Connects to the workers.

    Args:
      addresses: gRPC targets of running workers (`host:port`; a local
        `Worker.address` works too).
      kind: The compiler applied before splitting (see module docstring).
      retry_seconds: How long a round waits for a worker that stopped
        answering.

    Raises:
      WorkerError: If there are fewer than two addresses, or a worker does
        not answer.
    """
    if len(addresses) < 2:
      raise WorkerError(
          f'--workers needs two or more host:port addresses; got '
          f'{list(addresses)}. For one machine leave --workers empty.')
    check_reachable(addresses)
    self.addresses = list(addresses)
    self._kind = kind

    def compile_fn(comp):
      if kind == ContextKind.TEST:
        comp = tff.backends.test.replace_secure_intrinsics_with_bodies(comp)
      return tff.backends.native.compile_to_mergeable_comp_form(comp)

    self._channels, self._stubs = zip(*[_connect(a) for a in self.addresses])
    self.context = tff.framework.MergeableCompExecutionContext(
        [_BoundedRetryContext(
            executor_fn=_executor_factory(stub),
            retry_seconds=retry_seconds,
            compiler_fn=tff.backends.native.desugar_and_transform_to_native,
            transform_args=tensorflow_computation.transform_args,
            transform_result=tensorflow_computation.transform_result)
         for stub in self._stubs],
        compiler_fn=compile_fn,
        transform_args=tensorflow_computation.transform_args,
        transform_result=tensorflow_computation.transform_result)

  def close(self) -> None:
    """Closes the connections to the workers (which keep running)."""
    for channel in self._channels:
      channel.close()

  def check_readable(self, path: str) -> None:
    """Checks that every worker sees `path` (a file of the client store).

    Args:
      path: A file the workers will read.

    Raises:
      WorkerError: Naming each worker that cannot see it.
    """

    @tff.tensorflow.computation
    def exists():
      return tf.size(tf.io.matching_files(path)) > 0

    blind = []
    for address, stub in zip(self.addresses, self._stubs):
      with tff.framework.get_context_stack().install(_sync_context(stub)):
        if not exists():
          blind.append(address)
    if blind:
      raise WorkerError(
          f'TFF workers {", ".join(blind)} cannot read {path}: client data '
          'must be on storage every worker reads (a shared filesystem); '
          'pass --client_store_dir=SHARED_FOLDER.')

  def wrap(self, comp: tff.Computation) -> Callable[..., Any]:
    """`comp` as a function that runs on the pool.

    Args:
      comp: A computation with at most one (logical) aggregation, such as a
        round.

    Returns:
      A function with `comp`'s arguments. A struct result has the Python
      containers `comp`'s type names (the mergeable context returns plain
      ones), so states restore as usual.

    Raises:
      WorkerError: (from the function) If a worker stops answering.
    """
    result_type = comp.type_signature.result

    def call(*args):
      try:
        with tff.framework.get_context_stack().install(self.context):
          result = comp(*args)
      except Exception as e:  # pylint: disable=broad-except
        missing = unreachable_workers(self.addresses, 5.0)
        if not missing:
          raise
        raise WorkerError(
            f'TFF workers stopped answering: {", ".join(missing)} '
            f'({type(e).__name__}). Restart them and rerun the same '
            'command: the run resumes from its last saved round.') from e
      if not isinstance(result_type, tff.StructType):
        return result
      return tff.types.type_to_py_container(
          tff.structure.from_container(result, recursive=True), result_type)

    return call


atexit.register(_release_default_context)
