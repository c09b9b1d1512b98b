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
"""Tests for gptfl_tff.generators.speech (the offline engines, for real)."""

import dataclasses
import functools
import glob
import json
import os
import shutil
import types
from unittest import mock

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from gptfl_tff.generators import espeak
from gptfl_tff.generators import festival
from gptfl_tff.generators import flite
from gptfl_tff.generators import pico
from gptfl_tff.generators import piper
from gptfl_tff.generators import speech
from gptfl_tff.prompting import prompts
from gptfl_tff.synthesis import generation
from gptfl_tff.synthesis import speech_filter
from gptfl_tff.synthesis import synthetic_records


def _prompt(params):
  return prompts.Prompt('000-000001', 7, 'seven', 'seven', 'speech',
                        dict(params, seed=5))


_FLITE = {'engine': 'flite', 'voice': 'kal16', 'wpm': 150, 'pitch': 40}
_ESPEAK = {'engine': 'espeak-ng', 'voice': 'en-us', 'variant': 'klatt',
           'wpm': 150, 'pitch': 40, 'amplitude': 80}


class SpeechTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(('flite', _FLITE), ('espeak', _ESPEAK))
  def test_record_is_speech_at_task_rate_and_reproducible(self, params):
    if not speech.SPEECH_ENGINES[params['engine']].is_available():
      self.skipTest(f"{params['engine']} not installed (tools/setup.sh)")
    a = speech.make_record(_prompt(params), sample_rate=8000)
    b = speech.make_record(_prompt(params), sample_rate=8000)
    self.assertEqual(a, b)
    self.assertEqual((a.sample_rate, a.label, a.label_name), (8000, 7, 'seven'))
    x = a.audio()
    self.assertBetween(len(x) / 8000, 0.2, 1.5)  # one word, silence trimmed
    self.assertGreater(np.abs(x).max(), 0.05)
    self.assertLess(np.abs(x).max(), 1.0)
    self.assertGreater(np.abs(x[:10]).max(), 0)  # trimmed + dithered
    self.assertEqual(a.params['engine'], params['engine'])
    self.assertIn('engine_version', a.params)

  def test_speaking_rate_changes_duration(self):
    if not flite.is_available():
      self.skipTest('flite not installed')
    slow = speech.make_record(_prompt(dict(_FLITE, wpm=100)), 8000).audio()
    fast = speech.make_record(_prompt(dict(_FLITE, wpm=180)), 8000).audio()
    self.assertGreater(len(slow), 1.4 * len(fast))

  def test_missing_voice_is_reported(self):
    if not espeak.is_available():
      self.skipTest('espeak-ng not installed')
    with self.assertRaisesRegex(ValueError, "variant 'no-such' is not"):
      speech.make_record(_prompt(dict(_ESPEAK, variant='no-such')), 8000)

  def test_installed_mix_drops_missing_voices_and_groups(self):
    if not (espeak.is_available() and flite.is_available()):
      self.skipTest('engines not installed')
    groups = {
        'a': prompts.VoiceGroup('flite', ('kal', 'nosuch')),
        'b': prompts.VoiceGroup('espeak-ng', ('en-us',), ('klatt', 'mb-xx')),
        'c': prompts.VoiceGroup('no-such-engine', ('x',)),
    }
    with mock.patch.dict(prompts.VOICE_GROUPS, groups):
      got = speech.installed_voice_mix(prompts.VoiceMix(
          groups=(('a', 0.2), ('b', 0.3), ('c', 0.5))))
      self.assertEqual(got.groups, (('a', 0.4), ('b', 0.6)))
      self.assertEqual(got.installed['a'].voices, ('kal',))
      self.assertEqual(got.installed['b'].variants, ('klatt',))
      drawn = prompts.create_speech_prompts(['one'], 50, 0, got)
      self.assertEqual({p.params['voice'] for p in drawn}, {'kal', 'en-us'})
      with self.assertRaisesRegex(speech.EngineError, 'gen_voice_mix=c:1'):
        speech.installed_voice_mix(prompts.VoiceMix(groups=(('c', 1.0),)))

  @parameterized.named_parameters(
      ('festival_diphone', festival, 'ked_diphone'),
      ('festival_hts', festival, 'cmu_us_slt_arctic_hts'),
      ('pico', pico, 'en-GB'),
      ('pico_accented', pico, 'it-IT'),
      ('piper', piper, 'joe'),
  )
  def test_engine_is_seeded_and_follows_the_rate(self, engine, voice):
    if not engine.is_available():
      self.skipTest(f'{engine.NAME} not installed')
    params = dict(_FLITE, engine=engine.NAME, voice=voice)
    a = speech.make_record(_prompt(params), 8000)
    if engine is piper:
      piper._speak.cache_clear()  # pylint: disable=protected-access
    b = speech.make_record(_prompt(params), 8000)
    self.assertEqual(a.data, b.data)
    self.assertEqual(a.params['engine_version'], engine.version())
    slow = speech.make_record(_prompt(dict(params, wpm=100)), 8000).audio()
    fast = speech.make_record(_prompt(dict(params, wpm=180)), 8000).audio()
    self.assertGreater(len(slow), 1.3 * len(fast))

  def test_festival_version_names_its_voice_and_lexicon_packages(self):
    # The voices and lexicons are packages of their own: a new one changes
    # the clips, so it must change the stage fingerprints too.
    if not festival.is_available() or not shutil.which('dpkg-query'):
      self.skipTest('festival or dpkg-query missing')
    self.assertIn('festvox-', festival.version())
    self.assertIn('festlex-cmu ', festival.version())

  def test_piper_version_names_its_runtime_and_voice_digest(self):
    if not piper.is_available():
      self.skipTest('piper not installed')
    version = piper.version()
    self.assertRegex(version, r'voice \S+\.onnx sha256:[0-9a-f]{16}')
    if piper._python():  # pylint: disable=protected-access
      self.assertIn('onnxruntime ', version)

  @parameterized.named_parameters(
      ('missing_command', {'GPTFL_PIPER': '/no/such/piper'}),
      ('missing_command_with_a_voice', {'GPTFL_PIPER': '/no/such/piper',
                                        'GPTFL_PIPER_VOICE': __file__}),
      ('missing_voice', {'GPTFL_PIPER_VOICE': '/no/such/voice.onnx'}),
  )
  def test_piper_elsewhere_but_missing_is_unavailable(self, env):
    # A bad override drops the Piper group; it must not crash a run.
    piper.voice_model.cache_clear()
    self.addCleanup(piper.voice_model.cache_clear)
    with mock.patch.dict(os.environ, env):
      self.assertFalse(piper.is_available())

  def test_festival_speaks_a_batch_as_it_speaks_each(self):
    if not festival.is_available():
      self.skipTest('festival not installed')
    params = [dict(_FLITE, voice=v, pitch=p) for v, p in
              (('kal_diphone', 30), ('ked_diphone', 60),
               ('cmu_us_slt_arctic_hts', 40), ('kal_diphone', 70))]
    texts = ['seven', 'two', 'nine', 'seven']
    batch = festival.synthesize_batch(texts, params)
    for text, p, (samples, rate) in zip(texts, params, batch):
      one, one_rate = festival.synthesize(text, p)
      self.assertEqual(rate, one_rate)
      self.assertAllEqual(samples, one)
    # Pitch reaches the diphone voices: the same word at two pitches differs.
    self.assertFalse(np.array_equal(batch[0][0], batch[3][0]))

  def test_missing_festival_voice_names_the_packages(self):
    with self.assertRaisesRegex(ValueError, 'festvox'):
      festival.check({'voice': 'no_such_diphone'})

  def test_asr_filter_drops_unheard_clips_and_counts_them(self):
    if not flite.is_available():
      self.skipTest('flite not installed')
    noise = np.random.default_rng(0).normal(0, 0.3, 8000).astype(np.float32)
    hiss = types.SimpleNamespace(
        NAME='hiss', DEBIAN_PACKAGE='none', is_available=lambda: True,
        version=lambda: '1', check=lambda params: None,
        synthesize=lambda text, params: (noise, 8000))
    words = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven',
             'eight', 'nine']
    ps = [prompts.Prompt(f'000-{k:06d}', k, w, w, 'speech',
                         dict(_FLITE, seed=k, voice=v))
          for k, (w, v) in enumerate(zip(words, ['kal16', 'slt'] * 5))]
    ps[3] = dataclasses.replace(ps[3], params=dict(ps[3].params,
                                                   engine='hiss', voice='x'))
    with mock.patch.dict(speech.SPEECH_ENGINES, {'hiss': hiss}), \
        mock.patch.object(speech_filter, 'WordRecognizer',
                          wraps=speech_filter.WordRecognizer) as built:
      kept = speech.make_records(ps, 8000, filter_words=words)
      speech.make_records(ps[:2], 8000, filter_words=words)
      # A fresh decoder per call (a shard): pocketsphinx keeps state.
      self.assertEqual(built.call_count, 2)
      everything = speech.make_records(ps, 8000)
      out = self.create_tempdir().full_path
      generation.generate(
          ps, out, functools.partial(
              speech.make_records, sample_rate=8000, filter_words=words),
          records_per_shard=10, batch_size=10, progress=False)
    self.assertEqual([r.id for r in kept],
                     [p.id for k, p in enumerate(ps) if k != 3])
    # Kept clips are exactly the unfiltered ones.
    self.assertEqual([r.data for r in kept],
                     [r.data for k, r in enumerate(everything) if k != 3])
    with open(os.path.join(out, generation.MANIFEST)) as f:
      manifest = json.load(f)
    self.assertEqual(manifest['records'], 9)
    self.assertEqual(manifest['dropped_per_voice'], {'hiss:x': 1})
    self.assertEqual(manifest['records_per_voice'],
                     {'flite:kal16': 5, 'flite:slt': 4})
    shards = glob.glob(os.path.join(out, '*.tfrecord'))
    self.assertLen(list(synthetic_records.read_records(shards)), 9)

  def test_unknown_engine(self):
    with self.assertRaisesRegex(speech.EngineError, 'Unknown speech'):
      speech.speech_engine('say')


if __name__ == '__main__':
  tf.test.main()
