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
"""SpeechT5 neural text-to-speech with transformers (GPT-FL, Sec. 3.2).

GPT-FL generates its speech data (Google Speech Commands) with SpeechT5
(Ao et al., 2021); the paper names only the model. This uses the public
checkpoint `microsoft/speecht5_tts` with the `microsoft/speecht5_hifigan`
vocoder. SpeechT5 takes the speaker as an x-vector (its model card uses the
CMU ARCTIC x-vectors); here one is drawn per utterance. This is a speech
engine like `flite` and `espeak` (`NAME`, `DEBIAN_PACKAGE`,
`is_available()`, `version()`, `check(params)`, `synthesize(text,
params)`), driven by these prompt params:

  model       hub id or saved folder of the processor and
              `SpeechT5ForTextToSpeech` (default `microsoft/speecht5_tts`);
  vocoder     hub id or saved folder of the `SpeechT5HifiGan` (default
              `microsoft/speecht5_hifigan`);
  xvectors    x-vector file (below); absent or None: the fallback;
  speaker     int, which x-vector; absent: drawn from `seed`;
  seed        int (default 0): seeds SpeechT5's decoder pre-net dropout,
              which it keeps on at inference, so the same params always give
              the same samples;
  local_files_only  bool (default False): never touch the network;
  device      'cuda', 'cpu' or 'auto' (default).

X-vector file: a `.npy` float array of shape [n, 512] (512 being the model's
`speaker_embedding_dim`), one speaker per row, e.g. the CMU ARCTIC x-vectors
of the SpeechT5 model card (`Matthijs/cmu-arctic-xvectors`) stacked in one
array; or a folder of `.npy` files of shape [512] or [1, 512], one speaker
each, taken in sorted file-name order. Vectors are used as given.

Fallback, NOT the paper's setting: with no x-vector file, the speaker vector
is a random unit-norm 512-d Gaussian direction seeded by `speaker` (or by
`seed` when no speaker is given), so each speaker index is a stable but
made-up voice; such vectors are not distributed like real x-vectors, so
voices may sound odd. Pass CMU ARCTIC x-vectors to follow the paper.

Models are loaded once per process (cached by location). The real
tokenizer needs the `sentencepiece` package; `tiny_speecht5` builds a
stand-in that does not.
"""

import functools
import importlib.metadata
import importlib.util
import os

import numpy as np

from gptfl_tff import errors
from gptfl_tff.generators import diffusers_loading

NAME = 'speecht5'
DEBIAN_PACKAGE = ('none; SpeechT5 needs the Python packages torch, '
                  'transformers and sentencepiece')
TTS_MODEL = 'microsoft/speecht5_tts'
VOCODER = 'microsoft/speecht5_hifigan'


class SpeechT5Error(errors.UserError, ValueError):
  """Bad SpeechT5 params or an unloadable model; the message says the fix."""


def is_available() -> bool:
  return all(importlib.util.find_spec(m) is not None
             for m in ('torch', 'transformers'))


@functools.lru_cache(maxsize=None)
def version() -> str:
  return f"transformers-{importlib.metadata.version('transformers')}"


def _check_location(location: str, key: str) -> None:
  looks_local = location.startswith(('/', '.', '~'))
  if looks_local and not os.path.isdir(os.path.expanduser(location)):
    raise SpeechT5Error(
        f'speecht5 {key}: no saved folder at {location!r}. Pass a folder '
        'written by save_pretrained, or a hub id such as '
        f'{TTS_MODEL if key == "model" else VOCODER!r} where the hub is '
        'reachable.')


@functools.lru_cache(maxsize=None)
def load_tts(model: str, local_files_only: bool, device: str):
  """Loads (once per process) the processor and text-to-speech model.

  Args:
    model: Hub id or folder written by `save_pretrained`.
    local_files_only: Never touch the network.
    device: 'cuda' or 'cpu'.

  Returns:
    `(processor, model)`, the model in eval mode on `device`.

  Raises:
    SpeechT5Error: If it cannot be loaded; names params['model'].
  """
  import transformers  # pylint: disable=g-import-not-at-top
  _check_location(model, 'model')
  path = os.path.expanduser(model)
  try:
    processor = transformers.SpeechT5Processor.from_pretrained(
        path, local_files_only=local_files_only)
    tts = transformers.SpeechT5ForTextToSpeech.from_pretrained(
        path, local_files_only=local_files_only)
  except ImportError as e:
    raise SpeechT5Error(
        f'speecht5 model {model!r} needs a missing package ({e}); '
        'pip install sentencepiece.') from e
  except (OSError, ValueError) as e:
    raise SpeechT5Error(
        f'Could not load SpeechT5 model {model!r} ({e}). Offline, download '
        'it elsewhere, save it with save_pretrained, and pass that folder as '
        "params['model'] with local_files_only.") from e
  return processor, tts.to(device).eval()


@functools.lru_cache(maxsize=None)
def load_vocoder(vocoder: str, local_files_only: bool, device: str):
  """Loads (once per process) the HiFi-GAN vocoder, in eval mode.

  Raises:
    SpeechT5Error: If it cannot be loaded; names params['vocoder'].
  """
  import transformers  # pylint: disable=g-import-not-at-top
  _check_location(vocoder, 'vocoder')
  try:
    module = transformers.SpeechT5HifiGan.from_pretrained(
        os.path.expanduser(vocoder), local_files_only=local_files_only)
  except (OSError, ValueError) as e:
    raise SpeechT5Error(
        f'Could not load SpeechT5 vocoder {vocoder!r} ({e}). Offline, pass '
        "the folder of a saved SpeechT5HifiGan as params['vocoder'] with "
        'local_files_only.') from e
  return module.to(device).eval()


@functools.lru_cache(maxsize=None)
def load_xvectors(path: str) -> np.ndarray:
  """Reads an x-vector file (see the module docstring) as float32 [n, d].

  Raises:
    SpeechT5Error: If it is missing, empty or not [n, d]; names
      params['xvectors'].
  """
  where = f"speecht5 params['xvectors']={path!r}"
  if os.path.isdir(path):
    names = sorted(f for f in os.listdir(path) if f.endswith('.npy'))
    if not names:
      raise SpeechT5Error(f'{where}: the folder holds no .npy files.')
    try:
      rows = [np.load(os.path.join(path, f)).reshape(-1) for f in names]
      vectors = np.stack(rows)
    except (OSError, ValueError) as e:
      raise SpeechT5Error(
          f'{where}: each .npy file must hold one x-vector of the same size '
          f'([512] or [1, 512]) ({e}).') from e
  else:
    try:
      vectors = np.load(path)
    except (OSError, ValueError) as e:
      raise SpeechT5Error(
          f'{where}: not a readable .npy file of shape [n, 512] ({e}).') from e
  if vectors.ndim != 2 or not vectors.shape[0]:
    raise SpeechT5Error(
        f'{where}: need an array of shape [n, 512], one x-vector a row; got '
        f'shape {list(vectors.shape)}.')
  if not np.all(np.isfinite(vectors)):
    raise SpeechT5Error(f'{where}: holds non-finite values.')
  vectors = vectors.astype(np.float32)
  vectors.flags.writeable = False
  return vectors


def speaker_vector(params: dict, dim: int = 512) -> np.ndarray:
  """The speaker embedding of an utterance (see the module docstring).

  Args:
    params: The prompt params (`xvectors`, `speaker`, `seed`).
    dim: The model's `speaker_embedding_dim`.

  Returns:
    A float32 vector of shape [dim].

  Raises:
    SpeechT5Error: For a bad speaker index or x-vector file, naming the
      param.
  """
  speaker = params.get('speaker')
  if speaker is not None and (isinstance(speaker, bool) or
                              not isinstance(speaker, (int, np.integer)) or
                              speaker < 0):
    raise SpeechT5Error(
        f"speecht5 params['speaker'] must be an int >= 0; got {speaker!r}.")
  seed = int(params.get('seed', 0))
  if not params.get('xvectors'):
    rng = np.random.default_rng(seed if speaker is None else int(speaker))
    vector = rng.standard_normal(dim)
    return (vector / np.linalg.norm(vector)).astype(np.float32)
  vectors = load_xvectors(os.path.expanduser(params['xvectors']))
  n, d = vectors.shape
  if d != dim:
    raise SpeechT5Error(
        f"speecht5 params['xvectors']={params['xvectors']!r}: x-vectors are "
        f'{d}-d but the model takes {dim}-d speaker embeddings.')
  if speaker is None:
    speaker = np.random.default_rng(seed).integers(n)
  if speaker >= n:
    raise SpeechT5Error(
        f"speecht5 params['speaker']={speaker} is out of range: "
        f"{params['xvectors']!r} holds {n} x-vectors (0..{n - 1}).")
  return vectors[int(speaker)]


def _load(params: dict):
  local = bool(params.get('local_files_only', False))
  device = diffusers_loading.device(params.get('device', 'auto'))
  processor, tts = load_tts(params.get('model', TTS_MODEL), local, device)
  vocoder = load_vocoder(params.get('vocoder', VOCODER), local, device)
  return processor, tts, vocoder, device


def check(params: dict) -> None:
  """Checks the voice and that given local files exist (loads nothing).

  Args:
    params: A prompt's params (module docstring).

  Raises:
    SpeechT5Error: (a ValueError) naming the flag that is wrong.
  """
  if params.get('voice', 'xvector') != 'xvector':
    raise SpeechT5Error(
        f"speecht5 voice {params['voice']!r}: its only voice is 'xvector'.")
  for key, flag in (('model', '--gen_speecht5_model'),
                    ('vocoder', '--gen_speecht5_vocoder'),
                    ('xvectors', '--gen_xvectors')):
    path = params.get(key)
    local = key == 'xvectors' or str(path).startswith(('/', '.', '~'))
    if path and local and not os.path.exists(os.path.expanduser(path)):
      raise SpeechT5Error(f'{flag}={path}: no such file or folder.')


def synthesize(text: str, params: dict) -> tuple[np.ndarray, int]:
  """Speaks `text` with the params' speaker and seed.

  Args:
    text: What to say.
    params: See the module docstring.

  Returns:
    float32 samples and their rate (the vocoder's, 16 kHz for
    `microsoft/speecht5_hifigan`).

  Raises:
    SpeechT5Error: For bad params or an unloadable model.
  """
  import torch  # pylint: disable=g-import-not-at-top
  processor, tts, vocoder, device = _load(params)
  speaker = torch.from_numpy(np.array(
      speaker_vector(params, tts.config.speaker_embedding_dim)))[None]
  input_ids = processor(text=text, return_tensors='pt')['input_ids']
  cuda = device.startswith('cuda')
  forked = [torch.device(device).index or 0] if cuda else []
  with torch.random.fork_rng(devices=forked), torch.no_grad():
    torch.manual_seed(int(params.get('seed', 0)))
    samples = tts.generate_speech(
        input_ids.to(device), speaker.to(device), vocoder=vocoder)
  return (samples.float().cpu().numpy().astype(np.float32),
          int(vocoder.config.sampling_rate))
