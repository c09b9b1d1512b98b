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
"""Starts TFF's `worker_binary` in a network namespace of its own.

TFF 0.87's worker serves unauthenticated gRPC on `[::]:port` and has no
bind-address flag. This launcher (run by `runtime.Worker` as a program, with
the standard library only) closes that port to the network:

  1. it enters a new user and network namespace (`unshare(2)`, which needs
     no privilege where unprivileged user namespaces are enabled); the new
     network namespace has a loopback interface and nothing else, so no
     other host can reach anything bound in it;
  2. it brings that loopback interface up;
  3. it listens on a Unix socket at a path the caller gives (in a folder
     only the caller's user can enter). Pathname Unix sockets are files, not
     network endpoints, so the caller, outside the namespace, can connect;
  4. it forks a relay that joins each connection on the Unix socket to the
     worker's port on the namespace's loopback, and then replaces itself with
     the worker (so the caller's process id is the worker's).

Both the worker and the relay die with their parent (`PR_SET_PDEATHSIG`,
which fires when the thread that started a process exits): the worker when
the Python thread that started it (or its process) dies, the relay when the
worker dies.

Usage: python worker_netns.py SOCKET_PATH PORT BINARY [ARG...]

Exits with `EXIT_NO_NAMESPACE` when the kernel refuses the namespaces, so
that the caller can fall back (and say so).
"""

import ctypes
import fcntl
import os
import signal
import socket
import struct
import sys
import threading

EXIT_NO_NAMESPACE = 97  # Not an exit code worker_binary uses.

_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
_PR_SET_PDEATHSIG = 1
_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1
_IFREQ = '16sH22x'  # struct ifreq: name, then ifr_flags in a 24-byte union.
_BUFFER_BYTES = 1 << 20

_LIBC = ctypes.CDLL('libc.so.6', use_errno=True)


def die_with_parent() -> None:
  """SIGKILL this process when the thread that started it exits."""
  _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _write(path: str, text: str) -> None:
  with open(path, 'w', encoding='ascii') as f:
    f.write(text)


def enter_namespaces() -> None:
  """Moves this (single-threaded) process into new user and net namespaces.

  Maps the caller's user and group to root inside the user namespace, as
  `unshare --map-root-user` does, so that the process may configure the
  namespace's interfaces.

  Raises:
    OSError: If the kernel refuses (e.g. unprivileged user namespaces are
      disabled, or a seccomp policy forbids `unshare`).
  """
  uid, gid = os.getuid(), os.getgid()
  if _LIBC.unshare(_CLONE_NEWUSER | _CLONE_NEWNET) != 0:
    errno = ctypes.get_errno()
    raise OSError(errno, f'unshare: {os.strerror(errno)}')
  _write('/proc/self/setgroups', 'deny')
  _write('/proc/self/uid_map', f'0 {uid} 1')
  _write('/proc/self/gid_map', f'0 {gid} 1')


def bring_up_loopback() -> None:
  """Sets the IFF_UP flag of `lo` in this process's network namespace."""
  with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    request = struct.pack(_IFREQ, b'lo', 0)
    flags = struct.unpack(_IFREQ, fcntl.ioctl(s, _SIOCGIFFLAGS, request))[1]
    fcntl.ioctl(s, _SIOCSIFFLAGS, struct.pack(_IFREQ, b'lo', flags | _IFF_UP))


def _pump(source: socket.socket, sink: socket.socket) -> None:
  """Copies bytes from `source` to `sink` until `source` ends.

  A clean end is passed on as a half-close of `sink`, so replies still flow
  the other way; an error shuts both sockets down.
  """
  buffer = bytearray(_BUFFER_BYTES)
  view = memoryview(buffer)
  try:
    while True:
      n = source.recv_into(buffer)
      if not n:
        sink.shutdown(socket.SHUT_WR)
        return
      sink.sendall(view[:n])
  except OSError:
    for s in (source, sink):
      try:
        s.shutdown(socket.SHUT_RDWR)
      except OSError:
        pass


def _join(client: socket.socket, port: int) -> None:
  """Relays one Unix-socket connection to the worker's loopback port."""
  try:
    upstream = socket.create_connection(('127.0.0.1', port))
  except OSError:
    client.close()  # Not serving yet: the caller's gRPC channel retries.
    return
  upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
  back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
  back.start()
  _pump(client, upstream)
  back.join()
  client.close()
  upstream.close()


def relay(listener: socket.socket, port: int) -> None:
  """Serves the Unix-socket listener forever (one thread per connection).

  Args:
    listener: The listening Unix socket.
    port: The worker's port on this namespace's loopback.
  """
  while True:
    try:
      client, _ = listener.accept()
    except OSError:
      continue  # E.g. EMFILE or ECONNABORTED: keep serving the others.
    threading.Thread(target=_join, args=(client, port), daemon=True).start()


def main(argv: list[str]) -> int:
  """Enters the namespaces, forks the relay, becomes the worker.

  Args:
    argv: `[program, SOCKET_PATH, PORT, BINARY, ARG...]`.

  Returns:
    `EXIT_NO_NAMESPACE` if refused (otherwise it does not return).
  """
  socket_path, port, binary = argv[1], int(argv[2]), argv[3]
  die_with_parent()
  try:
    enter_namespaces()
    bring_up_loopback()
  except OSError as e:
    print(f'worker_netns: no network namespace: {e}', file=sys.stderr)
    return EXIT_NO_NAMESPACE
  listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
  listener.bind(socket_path)
  listener.listen(64)
  worker_pid = os.getpid()
  if os.fork() == 0:  # The relay: dies with the worker.
    die_with_parent()
    if os.getppid() != worker_pid:
      os._exit(0)  # pylint: disable=protected-access
    relay(listener, port)
    os._exit(0)  # pylint: disable=protected-access
  listener.close()
  os.execv(binary, argv[3:])
  return 0  # Not reached.


if __name__ == '__main__':
  sys.exit(main(sys.argv))
