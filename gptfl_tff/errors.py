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
"""Errors that are the user's to fix, not bugs.

`console.run` prints a `UserError` as one line, `error: <message>`, and exits
with status 2, without a traceback (`--debug` shows it). Raise it, or a
subclass, for problems with the user's input: missing or corrupt data, an
unreadable model file, a bad flag value. Its message names the problem, the
file or flag, and the fix, e.g.

  raise errors.UserError(
      f'{path}: not a WAV file (RIFF header missing); re-download the data '
      'set or remove the file.')

Modules define their own subclasses (which may also inherit a built-in such
as `ValueError`, so existing `except ValueError` callers keep working).
Anything else that escapes is a bug and keeps its traceback.
"""


class UserError(Exception):
  """A problem with the user's input (data, files, flags).

  Its message names the problem, the file or flag, and the fix. It is printed
  as one line, so keep it on one line.
  """
