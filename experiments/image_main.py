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
r"""Image FL: baselines, or the GPT-FL chain with Stable Diffusion.

  # FedAvg from random init on the CIFAR-10 development copy, 60 minutes:
  python -m experiments.image_main --data_dir=../shared/data/cifar10-train.zip \
      --dirichlet_alpha=0.1 --max_minutes=60 --experiment_name=fedavg_a01

  # GPT-FL (needs an SD 2.1 folder or hub access; a GPU for real sizes):
  python -m experiments.image_main --data_dir=... --gen_model=/models/sd21 \
      --gen_prompts_per_label=500

  # GPT-FL with KerasCV's StableDiffusionV2 (weights download on first use):
  python -m experiments.image_main --data_dir=... --gen_backend=keras_cv \
      --gen_resolution=512

  # Plumbing check with a tiny random pipeline (a stand-in, not a model):
  python -m experiments.image_main --data_dir=... --gen_tiny_random_model ...
"""

import enum
import json
import os

from absl import app
from absl import flags

from gptfl_tff import federated
from gptfl_tff import image_experiment
from gptfl_tff import io_utils
from gptfl_tff import models
from gptfl_tff import pretrain
from gptfl_tff.generators import keras_cv_diffusion
from gptfl_tff.generators import stable_diffusion
from gptfl_tff.generators import tiny_diffusion
from gptfl_tff.tasks import images


class GenBackend(enum.Enum):
  DIFFUSERS = 'diffusers'
  KERAS_CV = 'keras_cv'


class KerasCVWeights(enum.Enum):
  PRETRAINED = 'pretrained'
  RANDOM = 'random'


_TASK = flags.DEFINE_enum('task', 'cifar10', sorted(images.TASKS), 'Task.')
_DATA_DIR = flags.DEFINE_string(
    'data_dir', None, 'Image folder/zip (<split>/<class>/<file>); unset: '
    'TFDS (needs network).')
_MAX_TRAIN_PER_CLASS = flags.DEFINE_integer(
    'max_train_per_class', None, 'Subsample the training split.')
_MODEL = flags.DEFINE_enum('model', 'convnet', sorted(models.IMAGE_MODELS),
                           'Downstream model.')
_NUM_CLIENTS = flags.DEFINE_integer('num_clients', 100, 'Clients.')
_CLIENTS_PER_ROUND = flags.DEFINE_integer('clients_per_round', 10, 'Per round.')
_ALPHA = flags.DEFINE_float('dirichlet_alpha', 0.5, 'Label skew.')
_MIN_CLIENT_EXAMPLES = flags.DEFINE_integer(
    'min_client_examples', 10, 'Minimum examples per client.')
_ALGORITHM = flags.DEFINE_enum_class(
    'algorithm', federated.Algorithm.FEDAVG, federated.Algorithm, 'FL algo.')
_SERVER_OPTIMIZER = flags.DEFINE_enum_class(
    'server_optimizer', federated.ServerOptimizer.ADAM,
    federated.ServerOptimizer, 'FedOpt server optimizer.')
_CLIENT_LR = flags.DEFINE_float('client_learning_rate', 0.01, 'Client lr.')
_CLIENT_MOMENTUM = flags.DEFINE_float('client_momentum', 0.9, 'Momentum.')
_SERVER_LR = flags.DEFINE_float('server_learning_rate', 1.0, 'Server lr.')
_CLIENT_EPOCHS = flags.DEFINE_integer('client_epochs', 1, 'Local epochs.')
_CLIENT_BATCH_SIZE = flags.DEFINE_integer('client_batch_size', 32, 'Batch.')
_ROUNDS = flags.DEFINE_integer('rounds', 1000, 'Round budget.')
_MAX_MINUTES = flags.DEFINE_float('max_minutes', 0, 'Wall-time budget.')
_EVAL_EVERY = flags.DEFINE_integer('eval_every', 5, 'Evaluate every k.')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed.')
_INITIAL_MODEL = flags.DEFINE_string('initial_model', None, 'Start model.')
_GEN_BACKEND = flags.DEFINE_enum_class(
    'gen_backend', GenBackend.DIFFUSERS, GenBackend,
    'Image generator: diffusers (SD 2.1, --gen_model) or keras_cv '
    '(StableDiffusionV2; selecting it runs GPT-FL).')
_GEN_KERAS_CV_WEIGHTS = flags.DEFINE_enum_class(
    'gen_keras_cv_weights', KerasCVWeights.PRETRAINED, KerasCVWeights,
    'KerasCV weights: pretrained (downloaded on first use) or random '
    '(full size, no download; plumbing/throughput only).')
_GEN_MODEL = flags.DEFINE_string(
    'gen_model', None, 'Run GPT-FL: SD model id or saved pipeline folder.')
_GEN_TINY_RANDOM_MODEL = flags.DEFINE_bool(
    'gen_tiny_random_model', False,
    'Run GPT-FL with a tiny randomly initialised SD pipeline (plumbing '
    'check only: its images are noise).')
_GEN_PROMPTS_PER_LABEL = flags.DEFINE_integer('gen_prompts_per_label', 500, '')
_GEN_STEPS = flags.DEFINE_integer('gen_steps', 25, 'Denoising steps.')
_GEN_RESOLUTION = flags.DEFINE_integer('gen_resolution', 768, 'SD output.')
_GEN_BATCH_SIZE = flags.DEFINE_integer(
    'gen_batch_size', 8, 'Images per SD pipeline call.')
_SERVER_PRETRAIN_EPOCHS = flags.DEFINE_integer('server_pretrain_epochs', 50, '')
_SERVER_PRETRAIN_LR = flags.DEFINE_float('server_pretrain_learning_rate',
                                         1e-3, 'AdamW lr.')
_SERVER_PRETRAIN_WD = flags.DEFINE_float('server_pretrain_weight_decay',
                                         0.05, 'AdamW weight decay.')
_ROOT_OUTPUT_DIR = flags.DEFINE_string('root_output_dir', '/tmp/gptfl_tff', '')
_EXPERIMENT_NAME = flags.DEFINE_string('experiment_name', 'image', '')


def _diffusion_config(out: str):
  """The generator's config from the flags; None: no GPT-FL, a baseline."""
  if _GEN_MODEL.value and _GEN_TINY_RANDOM_MODEL.value:
    raise app.UsageError('Give --gen_model or --gen_tiny_random_model.')
  keras_cv = _GEN_BACKEND.value == GenBackend.KERAS_CV
  if keras_cv and (_GEN_MODEL.value or _GEN_TINY_RANDOM_MODEL.value):
    raise app.UsageError(
        '--gen_model and --gen_tiny_random_model are diffusers flags; with '
        '--gen_backend=keras_cv use --gen_keras_cv_weights.')
  try:
    if keras_cv:
      return keras_cv_diffusion.KerasCVConfig(
          weights=_GEN_KERAS_CV_WEIGHTS.value.value, steps=_GEN_STEPS.value,
          resolution=_GEN_RESOLUTION.value, batch_size=_GEN_BATCH_SIZE.value)
    if _GEN_MODEL.value or _GEN_TINY_RANDOM_MODEL.value:
      # The tiny stand-in is created in {out}/tiny_random_sd before use.
      model = _GEN_MODEL.value or os.path.join(out, 'tiny_random_sd')
      return stable_diffusion.DiffusionConfig(
          model=model, steps=_GEN_STEPS.value,
          resolution=_GEN_RESOLUTION.value, batch_size=_GEN_BATCH_SIZE.value,
          local_files_only=(_GEN_TINY_RANDOM_MODEL.value or
                            os.path.isdir(model)))
  except ValueError as e:
    raise app.UsageError(f'Bad generation flags: {e}') from e
  return None


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  out = os.path.join(_ROOT_OUTPUT_DIR.value, _EXPERIMENT_NAME.value)
  diffusion = _diffusion_config(out)
  io_utils.write_flags(out, __name__)
  config = image_experiment.ImageExperimentConfig(
      task=_TASK.value, data_dir=_DATA_DIR.value,
      max_train_per_class=_MAX_TRAIN_PER_CLASS.value, model=_MODEL.value,
      num_clients=_NUM_CLIENTS.value,
      clients_per_round=_CLIENTS_PER_ROUND.value,
      dirichlet_alpha=_ALPHA.value,
      min_client_examples=_MIN_CLIENT_EXAMPLES.value,
      process=federated.ProcessConfig(
          algorithm=_ALGORITHM.value,
          client_learning_rate=_CLIENT_LR.value,
          client_momentum=_CLIENT_MOMENTUM.value,
          server_learning_rate=_SERVER_LR.value,
          server_optimizer=_SERVER_OPTIMIZER.value),
      client_epochs=_CLIENT_EPOCHS.value,
      client_batch_size=_CLIENT_BATCH_SIZE.value, rounds=_ROUNDS.value,
      max_minutes=_MAX_MINUTES.value, eval_every=_EVAL_EVERY.value,
      seed=_SEED.value, initial_model=_INITIAL_MODEL.value, output_dir=out)
  if diffusion is None:
    image_experiment.run(config)
    return
  if _GEN_TINY_RANDOM_MODEL.value and not os.path.isdir(diffusion.model):
    tiny_diffusion.create_tiny_pipeline(diffusion.model, _SEED.value)
  result = image_experiment.run_gptfl(
      config, diffusion, _GEN_PROMPTS_PER_LABEL.value,
      pretrain.PretrainConfig(
          epochs=_SERVER_PRETRAIN_EPOCHS.value,
          learning_rate=_SERVER_PRETRAIN_LR.value,
          weight_decay=_SERVER_PRETRAIN_WD.value, seed=_SEED.value))
  io_utils.atomic_write_json(os.path.join(out, 'results.json'), result)
  print(json.dumps(result, indent=2))


if __name__ == '__main__':
  app.run(main)
