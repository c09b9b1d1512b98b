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
"""Tests for gptfl_tff.synthesis.generation: sharding, resumption, manifest."""

import functools
import json
import os

import tensorflow as tf

from gptfl_tff.prompting import prompts
from gptfl_tff.synthesis import generation
from gptfl_tff.synthesis import synthetic_records
from tests import fixtures

_LABELS = ('zero', 'one', 'two', 'three')


def _prompts(per_label=10):
  return prompts.create_speech_prompts(_LABELS, per_label, seed=0)


def _read_all(folder):
  return list(synthetic_records.read_records(
      synthetic_records.list_shards(folder)))


def _batch_fn(batch, seen):
  seen.append(len(batch))
  return [fixtures.fake_speech_record(p) for p in batch]


def _read_all_ref(test):
  folder = test.create_tempdir().full_path
  generation.generate(
      _prompts(), folder, generation.per_prompt(fixtures.fake_speech_record),
      records_per_shard=6, progress=False)
  return _read_all(folder)


class GenerationTest(tf.test.TestCase):

  def _generate(self, folder, fn=fixtures.fake_speech_record, **kwargs):
    return generation.generate(
        _prompts(), folder, generation.per_prompt(fn), records_per_shard=6,
        progress=False, **kwargs)

  def test_writes_every_prompt_once_with_manifest(self):
    folder = self.create_tempdir().full_path
    result = self._generate(folder, info={'seed': 0})
    self.assertEqual(result.total_shards, 7)  # ceil(40 / 6)
    records = _read_all(folder)
    self.assertEqual([r.id for r in records], [p.id for p in _prompts()])
    with open(os.path.join(folder, 'manifest.json')) as f:
      manifest = json.load(f)
    self.assertTrue(manifest['complete'])
    self.assertEqual(manifest['records'], 40)
    self.assertEqual(manifest['counts_per_label'],
                     {name: 10 for name in sorted(_LABELS)})
    self.assertEqual(manifest['records_per_engine'], {'fake': 40})
    self.assertEqual(manifest['seed'], 0)

  def test_resumes_after_kill_without_duplicates_or_gaps(self):
    reference = self.create_tempdir().full_path
    self._generate(reference)
    expected = _read_all(reference)

    folder = self.create_tempdir().full_path
    killing = functools.partial(
        fixtures.fake_speech_record, fail_after=15, calls=[])
    with self.assertRaises(KeyboardInterrupt):
      self._generate(folder, fn=killing)
    # Two shards (12 records) were complete; the third was mid-write.
    done = synthetic_records.list_shards(folder)
    self.assertLen(done, 2)
    self.assertFalse([f for f in os.listdir(folder) if f.endswith('.tmp')])

    result = self._generate(folder)
    self.assertEqual(result.skipped, (0, 1))
    self.assertEqual(result.written, (2, 3, 4, 5, 6))
    got = _read_all(folder)
    self.assertEqual(got, expected)
    ids = [r.id for r in got]
    self.assertLen(set(ids), len(ids))

    again = self._generate(folder)
    self.assertEqual(again.written, ())

  def test_kill_between_sidecar_and_shard(self):
    reference = self.create_tempdir().full_path
    self._generate(reference)
    folder = self.create_tempdir().full_path
    self._generate(folder)
    # As if killed after shard 3's sidecar was written but before the shard
    # was renamed into place.
    shard = os.path.join(folder, 'synthetic-00003-of-00007.tfrecord')
    os.remove(shard)
    result = self._generate(folder)
    self.assertEqual(result.written, (3,))
    self.assertTrue(result.manifest['complete'])
    self.assertEqual(_read_all(folder), _read_all(reference))

  def test_split_jobs_make_the_same_data(self):
    whole = self.create_tempdir().full_path
    self._generate(whole)
    split = self.create_tempdir().full_path
    first = self._generate(split, num_shards=3, shard_index=0)
    self.assertEqual(first.written, (0, 3, 6))
    self.assertFalse(first.manifest['complete'])
    self._generate(split, num_shards=3, shard_index=1)
    last = self._generate(split, num_shards=3, shard_index=2)
    self.assertTrue(last.manifest['complete'])
    self.assertEqual(_read_all(split), _read_all(whole))

  def test_parallel_workers_make_the_same_data(self):
    whole = self.create_tempdir().full_path
    self._generate(whole)
    parallel = self.create_tempdir().full_path
    self._generate(parallel, workers=2)
    self.assertEqual(_read_all(parallel), _read_all(whole))

  def test_refuses_folder_of_other_prompts(self):
    folder = self.create_tempdir().full_path
    self._generate(folder)
    other = prompts.create_speech_prompts(_LABELS, 10, seed=1)
    with self.assertRaisesRegex(generation.GenerationError, 'other prompts'):
      generation.generate(other, folder,
                          generation.per_prompt(fixtures.fake_speech_record),
                          records_per_shard=6, progress=False)
    with self.assertRaisesRegex(generation.GenerationError, 'number of shards'):
      generation.generate(_prompts(), folder,
                          generation.per_prompt(fixtures.fake_speech_record),
                          records_per_shard=5, progress=False)

  def test_batches_reach_the_generator_in_order(self):
    seen = []
    folder = self.create_tempdir().full_path
    result = generation.generate(
        _prompts(), folder, functools.partial(_batch_fn, seen=seen),
        records_per_shard=6, batch_size=4, progress=False)
    self.assertEqual(result.manifest['records'], 40)
    # Shards of 6 in batches of 4: 4 + 2 per shard; the last shard has 4.
    self.assertEqual(seen[:3], [4, 2, 4])
    self.assertEqual(_read_all(folder), _read_all_ref(self))

  def test_bad_split(self):
    with self.assertRaisesRegex(generation.GenerationError, 'shard_index'):
      generation.job_shards(4, 2, 2)
    self.assertEqual(generation.job_shards(5, 2, 1), [1, 3])


if __name__ == '__main__':
  tf.test.main()
