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
r"""Offline text-to-speech generation into sharded TFRecords.

  # Prompts from label names, then every shard on this machine:
  python -m generation.speech_main --gen_labels=zero,one,two \
      --gen_prompts_per_label=300 --gen_output_dir=/tmp/synthetic \
      --gen_workers=2

  # The same data set split across 4 machines (run with --shard_index=0..3):
  python -m generation.speech_main \
      --gen_prompts_path=/tmp/synthetic/prompts.jsonl \
      --gen_output_dir=/tmp/synthetic --num_shards=4 --shard_index=0

Kill it at any point and rerun the same command: finished shards are kept,
the rest are written, and the result is the same set of records.
"""

import functools
import os
import time

from absl import app
from absl import flags

from gptfl_tff import console
from gptfl_tff import errors
from gptfl_tff.generators import registry
from gptfl_tff.generators import speech
from gptfl_tff.prompting import prompts
from gptfl_tff.synthesis import generation
from gptfl_tff.synthesis import speech_filter

_GEN_LABELS = flags.DEFINE_list(
    'gen_labels', [], 'Label names to make prompts for (written to '
    '{gen_output_dir}/prompts.jsonl); or give --gen_prompts_path.')
_GEN_PROMPTS_PATH = flags.DEFINE_string(
    'gen_prompts_path', None, 'An existing prompts JSONL file.')
_GEN_PROMPTS_PER_LABEL = flags.DEFINE_integer(
    'gen_prompts_per_label', 300, 'Prompts per label (with --gen_labels).')
_GEN_VOICE_MIX = flags.DEFINE_string(
    'gen_voice_mix', str(prompts.VoiceMix()),
    'Voice groups and their shares, group:share,... (shares sum to 1); '
    f'groups: {", ".join(sorted(prompts.VOICE_GROUPS))}.')
_GEN_ASR_FILTER = flags.DEFINE_bool(
    'gen_asr_filter', registry.GeneratorConfig.asr_filter,
    'Keep only clips whose word an ASR check (pocketsphinx, the prompts\' '
    'words as its grammar) hears.')
_GEN_OUTPUT_DIR = flags.DEFINE_string(
    'gen_output_dir', None, 'Folder of the shards and manifest.')
_GEN_SAMPLE_RATE = flags.DEFINE_integer(
    'gen_sample_rate', 8000, 'Output sample rate (the task rate).')
_GEN_RECORDS_PER_SHARD = flags.DEFINE_integer(
    'gen_records_per_shard', 100, 'Records per shard.')
_GEN_WORKERS = flags.DEFINE_integer('gen_workers', 1, 'Local processes.')
_NUM_SHARDS = flags.DEFINE_integer(
    'num_shards', 1, 'Split the shards across this many jobs.')
_SHARD_INDEX = flags.DEFINE_integer('shard_index', 0, "This job's index.")
_SEED = flags.DEFINE_integer('seed', 0, 'Prompt seed (with --gen_labels).')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  if not _GEN_OUTPUT_DIR.value:
    raise app.UsageError('--gen_output_dir is required.')
  if bool(_GEN_LABELS.value) == bool(_GEN_PROMPTS_PATH.value):
    raise app.UsageError(
        'Give exactly one of --gen_labels, --gen_prompts_path.')
  if not 0 <= _SHARD_INDEX.value < _NUM_SHARDS.value:
    raise app.UsageError('Need 0 <= --shard_index < --num_shards.')
  if _GEN_PROMPTS_PATH.value:
    if not os.path.exists(_GEN_PROMPTS_PATH.value):
      raise app.UsageError(f'{_GEN_PROMPTS_PATH.value} does not exist.')
    prompt_list = prompts.read_jsonl(_GEN_PROMPTS_PATH.value)
  else:
    try:
      mix = speech.installed_voice_mix(prompts.VoiceMix(
          groups=prompts.parse_voice_mix(_GEN_VOICE_MIX.value)))
    except errors.UserError as e:
      raise app.UsageError(str(e)) from e
    prompt_list = prompts.create_speech_prompts(
        _GEN_LABELS.value, _GEN_PROMPTS_PER_LABEL.value, _SEED.value, mix)
    prompts.write_jsonl(
        os.path.join(_GEN_OUTPUT_DIR.value, 'prompts.jsonl'), prompt_list)
  words = (sorted({p.label for p in prompt_list}) if _GEN_ASR_FILTER.value
           else None)
  start = time.perf_counter()
  result = generation.generate(
      prompt_list, _GEN_OUTPUT_DIR.value,
      functools.partial(speech.make_records,
                        sample_rate=_GEN_SAMPLE_RATE.value,
                        filter_words=words),
      records_per_shard=_GEN_RECORDS_PER_SHARD.value,
      batch_size=_GEN_RECORDS_PER_SHARD.value,
      num_shards=_NUM_SHARDS.value, shard_index=_SHARD_INDEX.value,
      workers=_GEN_WORKERS.value,
      info={'seed': _SEED.value, 'sample_rate': _GEN_SAMPLE_RATE.value,
            'asr_filter': (speech_filter.identity() if words else False),
            'engines': {
                n: speech.speech_engine(n).version()
                for n in sorted({p.params['engine'] for p in prompt_list})}})
  seconds = time.perf_counter() - start
  made = sum(len(prompt_list[k * _GEN_RECORDS_PER_SHARD.value:
                             (k + 1) * _GEN_RECORDS_PER_SHARD.value])
             for k in result.written)
  print(f'generated {made} prompts in {seconds:.1f} s '
        f'({made / max(seconds, 1e-9):.1f} utterances/s, '
        f'{_GEN_WORKERS.value} worker(s))')
  print(f'wrote {len(result.written)} shard(s), skipped '
        f'{len(result.skipped)} complete; manifest: '
        f"{result.manifest['completed_shards']}/{result.total_shards} shards, "
        f"{result.manifest['records']} records")


if __name__ == '__main__':
  console.run(main)
