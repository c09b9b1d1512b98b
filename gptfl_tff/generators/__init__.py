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
"""Generative engines, one module per engine (GPT-FL, Sec. 3.2).

Each speech engine module exposes `NAME`, `is_available()`, `version()`,
`check(params)` and `synthesize(text, params) -> (samples, sample_rate)`.
"""

from gptfl_tff.generators import espeak
from gptfl_tff.generators import flite

SPEECH_ENGINES = {espeak.NAME: espeak, flite.NAME: flite}


class EngineError(RuntimeError):
  """An engine that is missing or failed; the message says what to do."""


def speech_engine(name: str):
  """Returns the module of a speech engine by name.

  Raises:
    EngineError: If the engine is unknown or not installed.
  """
  if name not in SPEECH_ENGINES:
    raise EngineError(
        f'Unknown speech engine {name!r}; known: {sorted(SPEECH_ENGINES)}.')
  module = SPEECH_ENGINES[name]
  if not module.is_available():
    raise EngineError(
        f'{name} is not installed; run tools/setup.sh (Debian package '
        f'{module.DEBIAN_PACKAGE}).')
  return module
