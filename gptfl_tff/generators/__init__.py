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
"""Generative engines, one module per engine (GPT-FL, Sec. 3.2).

`registry` names the backends the chain can use (one config, one factory).
Speech: `espeak`, `flite`, `festival`, `pico` and `piper` (offline engines;
Piper runs as a separate program), `speecht5`, and `speech` (their
registry, the ASR filter's use and post-processing into records). Sound:
`audioldm` (`tiny_audioldm` its stand-in). Images: `stable_diffusion`
(diffusers), `keras_cv_diffusion` (KerasCV), `tiny_diffusion` (a random
stand-in for tests) and `sd_benchmark` (SD 2.1 throughput with random
weights); `diffusers_loading` loads diffusers pipelines for both. The
package imports nothing itself, so the image modules do not drag in the
audio front end (TensorFlow).
"""
