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
r"""Images per second of Stable Diffusion 2.1 (random weights) on a GPU.

  python -m generation.sd_throughput_main --root_output_dir=/tmp/sd \
      --gen_resolutions=512,768 --gen_batch_sizes=1,4,8 --gen_steps=25,50

Writes flags.json, timings.json and timings.md under
{root_output_dir}/{experiment_name}/. Needs torch, diffusers and transformers
only (no TensorFlow), so it runs on a plain PyTorch GPU image.
"""

import enum
import os

from absl import app
from absl import flags

from gptfl_tff import console
from gptfl_tff import io_utils
from gptfl_tff.generators import sd_benchmark


class Device(enum.Enum):
  AUTO = 'auto'
  CUDA = 'cuda'
  CPU = 'cpu'


_GEN_RESOLUTIONS = flags.DEFINE_list(
    'gen_resolutions', ['512', '768'], 'Image sides (multiples of 8).')
_GEN_BATCH_SIZES = flags.DEFINE_list(
    'gen_batch_sizes', ['1', '4', '8'], 'Images per pipeline call.')
_GEN_STEPS = flags.DEFINE_list('gen_steps', ['25', '50'], 'Denoising steps.')
_GEN_GUIDANCE_SCALES = flags.DEFINE_list(
    'gen_guidance_scales', ['5'], 'Guidance scales to time (1 = no '
    'classifier-free guidance, half the UNet work).')
_GEN_REPEATS = flags.DEFINE_integer(
    'gen_repeats', 1, 'Timed calls per point (the fastest is kept).')
_GEN_DEVICE = flags.DEFINE_enum_class(
    'gen_device', Device.AUTO, Device, 'Where to run.')
_GEN_TINY_RANDOM_MODEL = flags.DEFINE_bool(
    'gen_tiny_random_model', False,
    'Time the toy stand-in pipeline instead (smoke tests only).')
_ROOT_OUTPUT_DIR = flags.DEFINE_string('root_output_dir', '/tmp/gptfl_tff', '')
_EXPERIMENT_NAME = flags.DEFINE_string('experiment_name', 'sd_throughput', '')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  grid = (io_utils.parse_numbers(_GEN_RESOLUTIONS, int, 'integers'),
          io_utils.parse_numbers(_GEN_BATCH_SIZES, int, 'integers'),
          io_utils.parse_numbers(_GEN_STEPS, int, 'integers'),
          io_utils.parse_numbers(_GEN_GUIDANCE_SCALES, float, 'numbers'),
          _GEN_REPEATS.value)
  try:
    sd_benchmark.check_grid(*grid)
  except ValueError as e:
    raise app.UsageError(str(e)) from e
  out = os.path.join(_ROOT_OUTPUT_DIR.value, _EXPERIMENT_NAME.value)
  io_utils.write_flags(out, __name__)
  result = sd_benchmark.benchmark(
      _GEN_DEVICE.value.value, *grid, tiny=_GEN_TINY_RANDOM_MODEL.value)
  io_utils.atomic_write_json(os.path.join(out, 'timings.json'), result)
  table = sd_benchmark.to_markdown(result)
  io_utils.atomic_write_text(os.path.join(out, 'timings.md'), table)
  print(table)


if __name__ == '__main__':
  console.run(main)
