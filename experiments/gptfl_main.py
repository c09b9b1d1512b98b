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
r"""GPT-FL end to end on spoken digits: discover labels -> prompts -> generate
-> pretrain -> federated fine-tune -> evaluate.

  python -m experiments.gptfl_main \
      --data_dir=../shared/data/fsdd-5speakers.zip \
      --root_output_dir=/tmp/gptfl --experiment_name=gptfl

  # The quickstart configuration (a few minutes on 2 CPU cores):
  python -m experiments.gptfl_main --quickstart --data_dir=...

Rerunning the same command skips finished stages and resumes unfinished
ones. Outputs go under {root_output_dir}/{experiment_name}/. The data,
partition and federated flags are those of experiments/fsdd_flags.py.
"""

import json

from absl import app
from absl import flags

from experiments import fsdd_flags
from gptfl_tff import pipeline
from gptfl_tff import pretrain
from gptfl_tff import prompts

_EXPERIMENT_NAME = flags.DEFINE_string(
    'experiment_name', 'gptfl', 'Subfolder of this run.')
_QUICKSTART = flags.DEFINE_bool(
    'quickstart', False,
    'Small settings that finish in a few minutes on 2 CPU cores: 100 '
    'prompts per label, 8 pretraining epochs, 10 rounds of 2 local epochs. '
    'Flags given explicitly still win.')
_GEN_PROMPTS_PER_LABEL = flags.DEFINE_integer(
    'gen_prompts_per_label', 300, 'Synthetic utterances per label.')
_GEN_FLITE_SHARE = flags.DEFINE_float(
    'gen_flite_share', 0.7,
    'Share of flite voices (the rest espeak-ng); flite transferred better '
    'to real speakers in calibration.')
_GEN_MAX_WPM = flags.DEFINE_integer(
    'gen_max_wpm', 175, 'Fastest speaking rate drawn (<= 185).')
_GEN_RECORDS_PER_SHARD = flags.DEFINE_integer(
    'gen_records_per_shard', 100, 'Synthetic records per TFRecord shard.')
_GEN_WORKERS = flags.DEFINE_integer(
    'gen_workers', 2, 'Parallel generation processes.')
_SERVER_PRETRAIN_EPOCHS = flags.DEFINE_integer(
    'server_pretrain_epochs', 10, 'Centralized pretraining epochs.')
_SERVER_PRETRAIN_LEARNING_RATE = flags.DEFINE_float(
    'server_pretrain_learning_rate', 1e-3, 'Peak AdamW learning rate.')
_SERVER_PRETRAIN_WEIGHT_DECAY = flags.DEFINE_float(
    'server_pretrain_weight_decay', 0.05, 'AdamW weight decay.')
_SERVER_PRETRAIN_BATCH_SIZE = flags.DEFINE_integer(
    'server_pretrain_batch_size', 32, 'Pretraining batch size.')
_LABEL_CAPACITY = flags.DEFINE_integer(
    'label_capacity', 64, 'Initial IBLT capacity (distinct label names).')
_LABEL_MAX_CAPACITY = flags.DEFINE_integer(
    'label_max_capacity', 4096, 'Largest IBLT capacity retried.')
_LABEL_MAX_BYTES = flags.DEFINE_integer(
    'label_max_bytes', 32, 'Longest label name, in UTF-8 bytes.')

_QUICKSTART_DEFAULTS = {
    'gen_prompts_per_label': 100,
    'server_pretrain_epochs': 8,
    'rounds': 10,
    'client_epochs': 2,
    'eval_every': 5,
}


def _apply_quickstart() -> None:
  for name, value in _QUICKSTART_DEFAULTS.items():
    if not flags.FLAGS[name].present:
      flags.FLAGS[name].value = value


# Fine-tuning from the pretrained model needs a smaller client step than
# training from scratch (docs/results.md, section 4).
flags.FLAGS.set_default('client_learning_rate', 0.01)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  if _QUICKSTART.value:
    _apply_quickstart()
  fsdd_flags.validate()
  if _GEN_PROMPTS_PER_LABEL.value < 1 or _GEN_WORKERS.value < 1:
    raise app.UsageError('--gen_prompts_per_label and --gen_workers >= 1.')
  run_dir = fsdd_flags.output_dir(_EXPERIMENT_NAME.value)
  fsdd_flags.write_flags(run_dir, __name__)
  mix = prompts.VoiceMix(flite_share=_GEN_FLITE_SHARE.value,
                         wpm_range=(120, _GEN_MAX_WPM.value))
  experiment = fsdd_flags.experiment_config(run_dir)
  config = pipeline.PipelineConfig(
      experiment=experiment,
      output_dir=run_dir,
      prompts_per_label=_GEN_PROMPTS_PER_LABEL.value,
      voice_mix=mix,
      gen_records_per_shard=_GEN_RECORDS_PER_SHARD.value,
      gen_workers=_GEN_WORKERS.value,
      pretraining=pretrain.PretrainConfig(
          epochs=_SERVER_PRETRAIN_EPOCHS.value,
          batch_size=_SERVER_PRETRAIN_BATCH_SIZE.value,
          learning_rate=_SERVER_PRETRAIN_LEARNING_RATE.value,
          weight_decay=_SERVER_PRETRAIN_WEIGHT_DECAY.value,
          seed=experiment.seed),
      label_capacity=_LABEL_CAPACITY.value,
      label_max_capacity=_LABEL_MAX_CAPACITY.value,
      label_max_bytes=_LABEL_MAX_BYTES.value,
  )
  results = pipeline.run(config)
  print(json.dumps(results, indent=2))


if __name__ == '__main__':
  app.run(main)
