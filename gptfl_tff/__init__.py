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

The step modules, in the order one label passes through them:

  1. label discovery   `label_discovery` (IBLT with secure sums)
  2. prompts           `prompts`
  3. generation        `generation`, `generators/`, `synthetic_records`
  4. pretraining       `pretrain`
  5. federated         `federated`, `training_loop`, `federated_experiment`,
                       `forms`

Around them: `tasks/` (datasets), `models`, `audio`, `partition`,
`evaluation` (the one evaluator), `stages` (the one rule for reusing a
stage), `runtime`, `console`, `errors`, `io_utils`; `orchestration/` (the
chain, benchmark grids, overhead, curves) composes the steps.
"""
