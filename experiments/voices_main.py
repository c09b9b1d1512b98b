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
r"""Voice-mix calibration on a speech task's validation split.

  python -m experiments.voices_main \
      --data_dir=../shared/data/fsdd-5speakers.zip \
      --experiment_name=fsdd_voices --calib_seeds=0,1,2

Each candidate voice mix (default: every voice group alone), without and
with the ASR filter, runs the one chain to its pretrained model; the
synthetic-only accuracy on the real validation split ranks them (each run
also evaluates test, as every chain does, but the ranking and the summary
hold validation only). A killed calibration resumes part-way. Writes summary.json and
summary.md under {root_output_dir}/{experiment_name}/. Flags:
experiments/shared_flags.py and the --calib_ flags below.
"""

from absl import app
from absl import flags

from experiments import shared_flags
from gptfl_tff import console
from gptfl_tff import io_utils
from gptfl_tff.orchestration import voices
from gptfl_tff.prompting import prompts

flags.adopt_module_key_flags(shared_flags)

_MIXES = flags.DEFINE_multi_string(
    'calib_voice_mixes', list(prompts.VOICE_GROUPS),
    'Candidate voice mixes, one --gen_voice_mix string each (repeat the '
    'flag); default: every voice group alone.')
_ASR_FILTERS = flags.DEFINE_list(
    'calib_asr_filters', ['off', 'on'],
    'Run each mix without (off) and/or with (on) the ASR filter.')
_SEEDS = flags.DEFINE_list('calib_seeds', ['0'], 'Seeds.')

# The calibration sets these per run.
_SET_BY_THE_GRID = ('gen_voice_mix', 'gen_asr_filter', 'rounds', 'seed')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  shared_flags.refuse_given(
      _SET_BY_THE_GRID, 'The calibration',
      '--calib_voice_mixes, --calib_asr_filters and --calib_seeds')
  bad = sorted(set(_ASR_FILTERS.value) - {'off', 'on'})
  if bad:
    raise app.UsageError(
        f'--calib_asr_filters takes off and/or on, not {bad}.')
  shared_flags.validate()
  folder = shared_flags.run_dir('voices')
  template = shared_flags.chain_config(folder)
  try:
    config = voices.CalibrationConfig(
        chain=template, output_dir=folder, mixes=tuple(_MIXES.value),
        asr_filters=tuple(v == 'on' for v in _ASR_FILTERS.value),
        seeds=tuple(io_utils.parse_numbers(_SEEDS, int, 'integers')))
  except ValueError as e:
    raise app.UsageError(str(e)) from e
  voices.run(config, progress=True, redo_from=shared_flags.redo_from())
  shared_flags.write_flags(folder, template, __name__)
  print(voices.write_summary(config))


if __name__ == '__main__':
  console.run(main)
