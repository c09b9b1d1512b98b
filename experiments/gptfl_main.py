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
r"""GPT-FL end to end on any task: discover labels -> prompts -> generate ->
pretrain -> federated fine-tune -> evaluate.

  # Spoken digits (the quickstart: a few minutes on 2 CPU cores):
  python -m experiments.gptfl_main --quickstart \
      --data_dir=../shared/data/fsdd-5speakers.zip --experiment_name=quick

  # CIFAR-10 with Stable Diffusion 2.1 (a GPU and the SD weights):
  python -m experiments.gptfl_main --task=cifar10 --data_dir=... \
      --gen_model=/models/sd21

Rerunning the same command skips finished stages and resumes unfinished ones
(shards, epochs, rounds); changed settings are refused, naming them, unless
--redo_from=STAGE. Outputs go under {root_output_dir}/{experiment_name}/.
Flags: experiments/shared_flags.py.
"""

from absl import app
from absl import flags

from experiments import shared_flags
from gptfl_tff import console
from gptfl_tff.orchestration import chain

flags.adopt_module_key_flags(shared_flags)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  shared_flags.validate()
  folder = shared_flags.run_dir('gptfl')
  config = shared_flags.chain_config(folder)
  results = chain.run(config, shared_flags.redo_from(), progress=True)
  shared_flags.write_flags(folder, config, __name__)
  rows = [['synthetic-only (pretrained)'] + [
      results['synthetic_only'].get(f'{s}_accuracy') for s in ('val', 'test')],
          [f'GPT-FL after {results["rounds"]} rounds'] + [
              results['final'].get(f'{s}_accuracy') for s in ('val', 'test')]]
  console.print_summary(
      f'GPT-FL on {results["task"]}: {len(results["labels"])} labels, '
      f'{results["synthetic_records"]} synthetic examples ({folder})',
      ['model', 'val accuracy', 'test accuracy'], rows)


if __name__ == '__main__':
  console.run(main)
