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
"""gptfl-tff: GPT-FL (arXiv 2306.02210) in TensorFlow Federated.

The five GPT-FL steps are five packages, in the order one label passes
through them:

  1. label discovery   `discovery/` (`label_discovery`: IBLT, secure sums)
  2. prompts           `prompting/` (`prompts`, `expanders`)
  3. generation        `synthesis/` (`generation`, `synthetic_records`) and
                       the generator plugins in `generators/`
  4. pretraining       `pretraining/` (`pretrain`)
  5. federated         `finetuning/` (`federated`, `training_loop`,
                       `federated_experiment`, `forms`, `diversity`,
                       `privacy`, `scaffold`)

Around them: `tasks/` (datasets), `models`, `audio`, `partition`,
`evaluation` (the one evaluator), `stages` (the one rule for reusing a
stage), `runtime` (TFF contexts, the local worker, several workers) with
`worker_netns` (the local worker's own network namespace), `console`,
`errors`, `io_utils`; `orchestration/` (the chain, benchmark grids,
overhead, curves, plots) composes the steps.
"""
