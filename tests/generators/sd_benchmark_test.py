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
"""Tests for gptfl_tff.generators.sd_benchmark (no GPU, no weights)."""

import os
import tempfile

import diffusers
import tensorflow as tf

from gptfl_tff.generators import sd_benchmark
from gptfl_tff.generators import tiny_diffusion


class SdBenchmarkTest(tf.test.TestCase):

  def test_full_size_parameter_counts_match_sd21(self):
    # Built on the meta device: shapes only. The published SD 2 / 2.1
    # component sizes: UNet 865.9M, VAE 83.7M, OpenCLIP-H text encoder
    # (23 of its 24 layers) 340.4M.
    unet, vae, text_encoder = sd_benchmark.create_sd21_components('meta')
    counts = [sum(p.numel() for p in m.parameters())
              for m in (unet, vae, text_encoder)]
    self.assertEqual(counts, [865_910_724, 83_653_863, 340_387_840])
    self.assertEqual(unet.config.cross_attention_dim,
                     text_encoder.config.hidden_size)

  def test_measure_times_every_grid_point(self):
    with tempfile.TemporaryDirectory() as tmp:
      folder = tiny_diffusion.create_tiny_pipeline(os.path.join(tmp, 'sd'))
      pipe = diffusers.StableDiffusionPipeline.from_pretrained(
          folder, safety_checker=None, requires_safety_checker=False,
          local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    timings = sd_benchmark.measure(pipe, [16], [1, 2], [1, 2],
                                   guidance_scales=[1.0, 3.0])
    self.assertEqual(
        [(t.batch_size, t.guidance_scale, t.steps) for t in timings],
        [(1, 1.0, 1), (1, 1.0, 2), (1, 3.0, 1), (1, 3.0, 2),
         (2, 1.0, 1), (2, 1.0, 2), (2, 3.0, 1), (2, 3.0, 2)])
    for t in timings:
      self.assertGreater(t.seconds, 0)
      self.assertAllClose(t.images_per_second, t.batch_size / t.seconds)
    table = sd_benchmark.to_markdown({
        'model': 'm', 'device': 'cpu', 'dtype': 'float32',
        'versions': {'torch': '1', 'diffusers': '2'},
        'timings': [t.__dict__ for t in timings]})
    self.assertLen(table.strip().split('\n'), 4 + len(timings))

  def test_bad_grid(self):
    with self.assertRaisesRegex(ValueError, 'multiples of 8'):
      sd_benchmark.measure(None, [20], [1], [1])
    with self.assertRaisesRegex(ValueError, 'at least one'):
      sd_benchmark.measure(None, [16], [], [1])
    with self.assertRaisesRegex(ValueError, 'Guidance scales must be >= 1'):
      sd_benchmark.check_grid([16], [1], [1], [0.5])
    with self.assertRaisesRegex(ValueError, 'repeats must be >= 1'):
      sd_benchmark.check_grid([16], [1], [1], [1.0], repeats=0)
    sd_benchmark.check_grid([512, 768], [1, 8], [25], [1.0, 5.0], repeats=3)


if __name__ == '__main__':
  tf.test.main()
