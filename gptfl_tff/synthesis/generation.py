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
"""Sharded, resumable generation of synthetic data (GPT-FL, Sec. 3.2).

Prompts are cut into fixed shards of `records_per_shard` consecutive prompts;
shard `k` of `n` is written to `synthetic-{k:05d}-of-{n:05d}.tfrecord` under a
temporary name and renamed when complete, next to a sidecar
`{shard}.json` (counts per label, engines used). Because every record is a
function of its prompt alone (prompts carry their seeds), the data set is the
same however the work is split or interrupted:

  * `num_shards` / `shard_index` split the shards across machines or
    processes (job `i` takes shards `k` with `k % num_shards == i`);
  * `workers` writes a job's shards in parallel processes on one machine;
  * a rerun of the same command skips shards that are already complete, so a
    killed run resumes with no duplicate and no missing example (a shard's
    sidecar is written before the shard, and the shard is what marks it
    complete).

`manifest.json` summarises the completed shards (counts per label,
generation settings, engine versions, seed).
"""

import collections
import concurrent.futures
import dataclasses
import functools
import hashlib
import json
import multiprocessing
import os
from typing import Any, Callable, Optional, Sequence

from absl import logging

from gptfl_tff import console
from gptfl_tff import errors
from gptfl_tff import io_utils
from gptfl_tff.prompting import prompts as prompts_lib
from gptfl_tff.synthesis import synthetic_records

PREFIX = 'synthetic'
MANIFEST = 'manifest.json'

RecordFn = Callable[[prompts_lib.Prompt], synthetic_records.SyntheticRecord]
RecordsFn = Callable[[Sequence[prompts_lib.Prompt]],
                     list[synthetic_records.SyntheticRecord]]


class GenerationError(errors.UserError, ValueError):
  """Bad generation settings or a folder that does not match the prompts."""


@dataclasses.dataclass(frozen=True)
class GenerationResult:
  written: tuple[int, ...]
  skipped: tuple[int, ...]
  total_shards: int
  manifest: dict[str, Any]


def prompts_digest(prompts: Sequence[prompts_lib.Prompt]) -> str:
  h = hashlib.sha256()
  for p in prompts:
    h.update(p.to_json().encode())
  return h.hexdigest()


def num_total_shards(num_prompts: int, records_per_shard: int) -> int:
  return max(1, -(-num_prompts // records_per_shard))


def job_shards(total: int, num_shards: int, shard_index: int) -> list[int]:
  """The shards job `shard_index` of `num_shards` writes.

  Raises:
    GenerationError: If the split is invalid.
  """
  if num_shards < 1 or not 0 <= shard_index < num_shards:
    raise GenerationError(
        f'Need num_shards >= 1 and 0 <= shard_index < num_shards; got '
        f'{num_shards}, {shard_index}.')
  return [k for k in range(total) if k % num_shards == shard_index]


def _shard_path(output_dir: str, k: int, total: int) -> str:
  return os.path.join(
      output_dir, synthetic_records.shard_name(PREFIX, k, total))


def _write_shard(
    records_fn: RecordsFn,
    batch_size: int,
    shard_prompts: list[prompts_lib.Prompt],
    path: str,
    digest: str,
) -> int:
  """Generates and writes one shard (runs in a worker process).

  The shard's records are made in memory first (a shard is small), then its
  sidecar is written, then the shard itself: the shard's existence is what
  marks it complete, so a kill at any point leaves either a complete shard
  with its sidecar, or no shard (and at most a sidecar that the rerun
  rewrites). The sidecar counts records and dropped prompts per voice.

  Returns:
    The number of prompts handled (a filter may have dropped some).
  """
  made, dropped = [], []
  for start in range(0, len(shard_prompts), batch_size):
    batch = shard_prompts[start:start + batch_size]
    records = records_fn(batch)
    ids = [r.id for r in records]
    returned = set(ids)
    if ids != [p.id for p in batch if p.id in returned]:
      raise GenerationError(
          'The generator returned records that do not match its prompts.')
    made.extend(records)
    dropped.extend(p for p in batch if p.id not in returned)
  counts = collections.Counter(r.label_name for r in made)
  engines = collections.Counter(_engine(r.params) for r in made)
  io_utils.atomic_write_json(path + '.json', {
      'prompts_sha256': digest,
      'counts': dict(sorted(counts.items())),
      'engines': dict(sorted(engines.items())),
      'voices': _count_voices(r.params for r in made),
      'dropped': _count_voices(p.params for p in dropped),
      'records': len(made),
  })
  synthetic_records.write_shard(path, made)
  return len(shard_prompts)


def _engine(params: dict[str, Any]) -> str:
  return str(params.get('engine', params.get('model_id')))


def _count_voices(params) -> dict[str, int]:
  """Records per `engine:voice` (the engine alone if it has no voice)."""
  counts = collections.Counter(
      ':'.join([_engine(p)] + ([p['voice']] if 'voice' in p else []))
      for p in params)
  return dict(sorted(counts.items()))


def _check_folder(output_dir: str, total: int, digest: str) -> None:
  """Refuses a folder holding shards of other prompts or another split."""
  if not os.path.isdir(output_dir):
    return
  for name in os.listdir(output_dir):
    if not (name.startswith(PREFIX + '-') and name.endswith('.tfrecord')):
      continue
    if not name.endswith(f'-of-{total:05d}.tfrecord'):
      raise GenerationError(
          f'{output_dir} holds {name}, from a run with another number of '
          'shards; use a new output folder or the same '
          '--gen_records_per_shard.')
    sidecar = os.path.join(output_dir, name + '.json')
    if os.path.exists(sidecar):
      with open(sidecar) as f:
        if json.load(f).get('prompts_sha256') != digest:
          raise GenerationError(
              f'{output_dir} holds shards generated from other prompts; use '
              'a new output folder or delete it.')


def build_manifest(output_dir: str, total: int, info: dict[str, Any]) -> dict:
  """Summarises the completed shards in `output_dir`."""
  counts = collections.Counter()
  engines = collections.Counter()
  voices = collections.Counter()
  dropped = collections.Counter()
  done = []
  for k in range(total):
    path = _shard_path(output_dir, k, total)
    if os.path.exists(path) and os.path.exists(path + '.json'):
      with open(path + '.json') as f:
        sidecar = json.load(f)
      counts.update(sidecar['counts'])
      engines.update(sidecar['engines'])
      voices.update(sidecar.get('voices', {}))
      dropped.update(sidecar.get('dropped', {}))
      done.append(os.path.basename(path))
  return dict(
      info,
      total_shards=total,
      completed_shards=len(done),
      complete=len(done) == total,
      shards=done,
      records=sum(counts.values()),
      counts_per_label=dict(sorted(counts.items())),
      records_per_engine=dict(sorted(engines.items())),
      records_per_voice=dict(sorted(voices.items())),
      dropped_per_voice=dict(sorted(dropped.items())),
  )


def generate(
    prompts: Sequence[prompts_lib.Prompt],
    output_dir: str,
    records_fn: RecordsFn,
    records_per_shard: int = 100,
    batch_size: int = 1,
    num_shards: int = 1,
    shard_index: int = 0,
    workers: int = 1,
    info: Optional[dict[str, Any]] = None,
    progress: bool = True,
) -> GenerationResult:
  """Writes this job's missing shards, then the manifest.

  Args:
    prompts: All prompts of the data set (every job passes the same list).
    output_dir: Folder of the shards and the manifest.
    records_fn: Picklable `prompts -> records` (at most one record per
      prompt, in order: a quality filter may drop prompts); workers are
      spawned processes. Wrap a per-prompt function
      with `per_prompt`.
    records_per_shard: Prompts per shard.
    batch_size: Prompts given to `records_fn` at once.
    num_shards: Jobs the shards are split across.
    shard_index: This job's index.
    workers: Parallel processes for this job's shards.
    info: Extra manifest fields (settings, engine versions, seed).
    progress: Show a progress bar (records, rate, ETA).

  Returns:
    A `GenerationResult`.

  Raises:
    GenerationError: On bad settings or a folder of other prompts.
  """
  if not prompts:
    raise GenerationError('No prompts to generate from.')
  if records_per_shard < 1 or workers < 1 or batch_size < 1:
    raise GenerationError(
        'records_per_shard, batch_size and workers must be >= 1.')
  total = num_total_shards(len(prompts), records_per_shard)
  digest = prompts_digest(prompts)
  _check_folder(output_dir, total, digest)
  os.makedirs(output_dir, exist_ok=True)
  mine = job_shards(total, num_shards, shard_index)
  todo = [k for k in mine
          if not os.path.exists(_shard_path(output_dir, k, total))]
  skipped = tuple(k for k in mine if k not in todo)
  if skipped:
    logging.info('Resuming: %d of %d shards already complete.',
                 len(skipped), len(mine))
  tasks = {
      k: (prompts[k * records_per_shard:(k + 1) * records_per_shard],
          _shard_path(output_dir, k, total))
      for k in todo
  }
  bar = console.progress(sum(len(p) for p, _ in tasks.values()), 'generate',
                         'record', enabled=progress)
  try:
    if workers == 1:
      for k, (shard_prompts, path) in tasks.items():
        bar.update(_write_shard(records_fn, batch_size, shard_prompts, path,
                                digest))
    else:
      ctx = multiprocessing.get_context('spawn')
      with concurrent.futures.ProcessPoolExecutor(workers, ctx) as pool:
        futures = [
            pool.submit(_write_shard, records_fn, batch_size, p, path, digest)
            for p, path in tasks.values()
        ]
        for future in concurrent.futures.as_completed(futures):
          bar.update(future.result())
  finally:
    bar.close()
  info = dict(info or {}, prompts_sha256=digest,
              records_per_shard=records_per_shard)
  manifest = build_manifest(output_dir, total, info)
  io_utils.atomic_write_json(os.path.join(output_dir, MANIFEST), manifest)
  return GenerationResult(tuple(todo), skipped, total, manifest)


def _each(record_fn: RecordFn, batch: Sequence[prompts_lib.Prompt]):
  return [record_fn(p) for p in batch]


def per_prompt(fn: Callable[..., Any], **kwargs) -> RecordsFn:
  """A picklable `prompts -> records` from a top-level per-prompt function.

  Args:
    fn: `fn(prompt, **kwargs) -> SyntheticRecord`, defined at module level.
    **kwargs: Bound arguments of `fn`.

  Returns:
    A function applying `fn` to each prompt of a batch.
  """
  return functools.partial(_each, functools.partial(fn, **kwargs))
