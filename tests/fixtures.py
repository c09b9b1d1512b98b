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
"""Tiny in-test data and shared checks.

FSDD-style WAV folders of synthetic tones: digit d is a tone at 300 + 150 d
Hz (speaker-dependent detune, noise), so a model can learn it in a few
steps, and every format the loaders accept can be produced without touching
real data. `assert_image_records` is the record contract every image
generator shares.
"""

import http.server
import io
import json
import os
import subprocess
import sys
import tarfile
import threading
import wave
import zipfile

import numpy as np


def wav_bytes(samples: np.ndarray, rate: int = 8000, width: int = 2) -> bytes:
  """Encodes float samples in [-1, 1] as a mono PCM WAV file."""
  buf = io.BytesIO()
  with wave.open(buf, 'wb') as w:
    w.setnchannels(1)
    w.setsampwidth(width)
    w.setframerate(rate)
    if width == 2:
      w.writeframes((np.clip(samples, -1, 1) * 32767).astype('<i2').tobytes())
    else:
      w.writeframes(((np.clip(samples, -1, 1) + 1) * 127.5).astype(np.uint8))
  return buf.getvalue()


def tone(digit: int, speaker: int, index: int, rate: int = 8000) -> np.ndarray:
  rng = np.random.default_rng([digit, speaker, index])
  n = int(rate * (0.4 + 0.05 * (index % 4)))
  t = np.arange(n) / rate
  freq = 300.0 + 150.0 * digit + 10.0 * speaker
  x = 0.5 * np.sin(2 * np.pi * freq * t) + 0.02 * rng.standard_normal(n)
  return x.astype(np.float32)


SPEAKERS = ('alice', 'bob', 'carol')


def write_fsdd_folder(
    root: str,
    digits=range(10),
    speakers=SPEAKERS,
    indices=range(8),
    rate: int = 8000,
) -> list[str]:
  """Writes `{digit}_{speaker}_{index}.wav` tones; returns the paths."""
  folder = os.path.join(root, 'recordings')
  os.makedirs(folder, exist_ok=True)
  paths = []
  for s, speaker in enumerate(speakers):
    for d in digits:
      for i in indices:
        path = os.path.join(folder, f'{d}_{speaker}_{i}.wav')
        with open(path, 'wb') as f:
          f.write(wav_bytes(tone(d, s, i, rate), rate))
        paths.append(path)
  return paths


def zip_folder(folder: str, zip_path: str) -> str:
  with zipfile.ZipFile(zip_path, 'w') as z:
    for root, _, files in os.walk(folder):
      for f in files:
        full = os.path.join(root, f)
        z.write(full, os.path.relpath(full, os.path.dirname(folder)))
  return zip_path


def tar_folder(folder: str, tar_path: str) -> str:
  with tarfile.open(tar_path, 'w:gz') as t:
    t.add(folder, arcname=os.path.basename(folder))
  return tar_path


def fake_speech_record(prompt, sample_rate=8000, fail_after=None, calls=None):
  """A deterministic stand-in for a speech engine (tests only).

  The waveform is a function of the prompt's seed. With `fail_after=n` and a
  `calls` list, the call after `n` recorded calls raises, simulating a kill
  mid-shard.
  """
  from gptfl_tff.synthesis import synthetic_records  # pylint: disable=g-import-not-at-top
  if calls is not None:
    calls.append(prompt.id)
  if fail_after is not None and len(calls) > fail_after:
    raise KeyboardInterrupt('simulated kill')
  rng = np.random.default_rng(prompt.params['seed'])
  samples = 0.3 * rng.standard_normal(200).astype(np.float32)
  return synthetic_records.SyntheticRecord.from_audio(
      prompt.id, prompt.label_id, prompt.label, np.clip(samples, -1, 1),
      sample_rate, dict(prompt.params, engine='fake'))


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_module(module: str, args: list[str], env: dict | None = None,
               timeout: int = 900) -> subprocess.CompletedProcess:
  """Runs `python -m module args` from the repository root, as a user would.

  The environment is the test's, less TF_CPP_MIN_LOG_LEVEL (which tests of
  the console may have set), plus PYTHONPATH.
  """
  env = dict(env if env is not None else os.environ, PYTHONPATH=REPO)
  env.pop('TF_CPP_MIN_LOG_LEVEL', None)
  return subprocess.run(
      [sys.executable, '-m', module] + args, cwd=REPO, env=env,
      capture_output=True, text=True, timeout=timeout)


def assert_image_records(test, prompts, records, size, model_id):
  """One PNG record per prompt, in order, `size` px, with its params."""
  from PIL import Image  # pylint: disable=g-import-not-at-top
  from gptfl_tff.synthesis import synthetic_records  # pylint: disable=g-import-not-at-top
  test.assertEqual([r.id for r in records], [p.id for p in prompts])
  for p, r in zip(prompts, records):
    test.assertEqual(r.kind, synthetic_records.KIND_IMAGE)
    test.assertEqual(Image.open(io.BytesIO(r.data)).size, (size, size))
    test.assertEqual(r.params['guidance_scale'], p.params['guidance_scale'])
    test.assertEqual(r.params['seed'], p.params['seed'])
    test.assertEqual(r.params['model_id'], model_id)


class ChatServer(http.server.ThreadingHTTPServer):
  """A local OpenAI-compatible chat endpoint for tests.

  It answers 'A {label} seen from seed {seed}' (the label read from the
  last message's blanks) and records `(path, body, Authorization)` of each
  request; the first `failures` requests get HTTP `status` instead.
  """

  def __init__(self, failures=0, status=503):
    self.failures = failures
    self.status = status
    self.requests = []
    super().__init__(('127.0.0.1', 0), _ChatHandler)

  @property
  def url(self):
    return f'http://127.0.0.1:{self.server_address[1]}/v1'


class _ChatHandler(http.server.BaseHTTPRequestHandler):

  def log_message(self, *args):
    del args

  def do_POST(self):  # pylint: disable=invalid-name
    body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
    self.server.requests.append(
        (self.path, body, self.headers.get('Authorization')))
    if self.server.failures:
      self.server.failures -= 1
      self.send_response(self.server.status)
      self.end_headers()
      self.wfile.write(b'{"error": "unknown model"}')
      return
    label = body['messages'][-1]['content'].split('___')[1].strip()
    out = json.dumps({'choices': [{'message': {
        'role': 'assistant',
        'content': f'A {label} seen from seed {body["seed"]}'}}]}).encode()
    self.send_response(200)
    self.send_header('Content-Type', 'application/json')
    self.send_header('Content-Length', str(len(out)))
    self.end_headers()
    self.wfile.write(out)


def serve_chat(test, **kw) -> ChatServer:
  """Starts a `ChatServer` that `test` (a TestCase) stops at its end."""
  server = ChatServer(**kw)
  threading.Thread(target=server.serve_forever, daemon=True).start()
  test.addCleanup(server.server_close)
  test.addCleanup(server.shutdown)
  return server
