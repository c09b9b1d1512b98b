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
"""The GPT-FL pipeline on spoken digits, end to end (GPT-FL, Sec. 3, Fig. 1).

Stages, each writing under `{output_dir}/`:

  1. labels      IBLT label discovery over the clients' label names, with
                 secure sums (`labels.json`).
  2. prompts     speech prompts per discovered label (`prompts.jsonl`).
  3. synthetic   text-to-speech into sharded TFRecords (`synthetic/`).
  4. pretrain    centralized pretraining on synthetic data (`pretrain/`);
                 its accuracy on the real test split is "synthetic-only".
  5. federated   FedAvg/FedOpt fine-tuning from the pretrained weights on the
                 clients' real data (`federated/`).
  6. results     `results.json`.

A stage whose output exists and was made with the same settings (and the
same upstream stages) is skipped; generation and pretraining also resume
part-way. A stage made with other settings is an error, not silently
reused.
"""

import dataclasses
import functools
import hashlib
import json
import os
from typing import Any

from absl import logging
import numpy as np
import tensorflow as tf

from gptfl_tff import federated_experiment
from gptfl_tff import generation
from gptfl_tff import io_utils
from gptfl_tff import label_discovery
from gptfl_tff import models
from gptfl_tff import pretrain
from gptfl_tff import prompts as prompts_lib
from gptfl_tff import runtime
from gptfl_tff.generators import speech
from gptfl_tff.tasks import fsdd

STATE_FILE = 'stages.json'


class PipelineError(RuntimeError):
  """A stage output made with other settings; the message says what to do."""


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
  """Settings of every stage.

  Attributes:
    experiment: Data, partition and federated fine-tuning settings; its
      `output_dir` and `initial_model` are set by the pipeline.
    output_dir: Root of this run's outputs.
    prompts_per_label: Speech prompts per discovered label.
    voice_mix: Voice distribution of the prompts.
    gen_records_per_shard: Records per TFRecord shard.
    gen_workers: Generation processes.
    gen_sample_rate: Rate of the synthetic audio (the task's rate).
    pretraining: Pretraining hyper-parameters.
    label_capacity: Initial IBLT capacity.
    label_max_capacity: Largest IBLT capacity retried.
    label_max_bytes: Longest label name in UTF-8 bytes.
  """

  experiment: federated_experiment.ExperimentConfig
  output_dir: str
  prompts_per_label: int = 300
  voice_mix: prompts_lib.VoiceMix = prompts_lib.VoiceMix()
  gen_records_per_shard: int = 100
  gen_workers: int = 1
  gen_sample_rate: int = fsdd.SAMPLE_RATE
  pretraining: pretrain.PretrainConfig = pretrain.PretrainConfig()
  label_capacity: int = label_discovery.DEFAULT_CAPACITY
  label_max_capacity: int = label_discovery.DEFAULT_MAX_CAPACITY
  label_max_bytes: int = label_discovery.DEFAULT_STRING_MAX_BYTES


def _fingerprint(*parts: Any) -> str:
  return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


class _Stages:
  """Records which stage outputs were made with which settings."""

  def __init__(self, output_dir: str):
    self._path = os.path.join(output_dir, STATE_FILE)
    self._state = {}
    if os.path.exists(self._path):
      with open(self._path) as f:
        self._state = json.load(f)

  def done(self, stage: str, fingerprint: str, output: str) -> bool:
    """Whether `output` exists and was made with `fingerprint`.

    Raises:
      PipelineError: If it exists but was made with other settings.
    """
    if not os.path.exists(output):
      return False
    recorded = self._state.get(stage)
    if recorded != fingerprint:
      raise PipelineError(
          f'{output} was made with other settings than this run\'s '
          f'{stage} stage. Use another --experiment_name, or delete '
          f'{output} to redo it.')
    logging.info('Stage %s: already done, skipping.', stage)
    return True

  def mark(self, stage: str, fingerprint: str) -> None:
    self._state[stage] = fingerprint
    io_utils.atomic_write_json(self._path, self._state)


def client_label_names(
    train: fsdd.FeatureSet, parts: dict[str, np.ndarray]
) -> list[list[str]]:
  """Each client's distinct label names (what it feeds label discovery)."""
  return [
      [fsdd.LABEL_NAMES[c] for c in np.unique(train.labels[idx])]
      for idx in parts.values()
  ]


def run(config: PipelineConfig) -> dict[str, Any]:
  """Runs (or resumes) every stage; returns the results."""
  out = config.output_dir
  os.makedirs(out, exist_ok=True)
  stages = _Stages(out)
  exp = config.experiment
  train, test = federated_experiment.load_splits(exp)
  parts = federated_experiment.create_partition(train, exp)

  # 1. Label discovery (secure sums need the test context in simulation).
  labels_path = os.path.join(out, 'labels.json')
  fp_labels = _fingerprint(
      exp.data_dir, exp.split, exp.test_speakers, exp.partition,
      exp.clients_per_speaker, exp.num_clients, exp.dirichlet_alpha,
      exp.examples_per_label, exp.seed, config.label_capacity,
      config.label_max_capacity, config.label_max_bytes)
  if not stages.done('labels', fp_labels, labels_path):
    runtime.set_default_context(runtime.ContextKind.TEST)
    found = label_discovery.discover_labels(
        client_label_names(train, parts), config.label_capacity,
        config.label_max_capacity, config.label_max_bytes, exp.seed)
    io_utils.atomic_write_json(labels_path, dataclasses.asdict(found))
    stages.mark('labels', fp_labels)
  with open(labels_path) as f:
    names = json.load(f)['labels']
  ids = [fsdd.label_id(n) for n in names]
  names = [n for _, n in sorted(zip(ids, names))]
  ids = sorted(ids)

  # 2. Prompts.
  prompts_path = os.path.join(out, 'prompts.jsonl')
  fp_prompts = _fingerprint(fp_labels, config.prompts_per_label,
                            config.voice_mix, exp.seed)
  if not stages.done('prompts', fp_prompts, prompts_path):
    mix = speech.installed_voice_mix(config.voice_mix)
    prompts_lib.write_jsonl(prompts_path, prompts_lib.create_speech_prompts(
        names, config.prompts_per_label, exp.seed, mix, label_ids=ids))
    stages.mark('prompts', fp_prompts)
  prompts = prompts_lib.read_jsonl(prompts_path)

  # 3. Generation (resumes by shard on its own).
  synthetic_dir = os.path.join(out, 'synthetic')
  fp_gen = _fingerprint(fp_prompts, config.gen_records_per_shard,
                        config.gen_sample_rate)
  generation.generate(
      prompts, synthetic_dir,
      generation.per_prompt(speech.make_record,
                            sample_rate=config.gen_sample_rate),
      records_per_shard=config.gen_records_per_shard,
      workers=config.gen_workers,
      info={'seed': exp.seed, 'sample_rate': config.gen_sample_rate,
            'engines': _engine_versions()})
  stages.mark('synthetic', fp_gen)

  # 4. Centralized pretraining (resumes from its checkpoints).
  shape = train.features.shape[1:]
  keras_model_fn = functools.partial(
      models.create_keyword_model, shape, fsdd.NUM_CLASSES, exp.seed)
  pretrain_dir = os.path.join(out, 'pretrain')
  pretrained_path = os.path.join(pretrain_dir, 'pretrained.keras')
  fp_pre = _fingerprint(fp_gen, config.pretraining)
  if not stages.done('pretrain', fp_pre, pretrained_path):
    pretrain.run(synthetic_dir, keras_model_fn, config.pretraining,
                 pretrain_dir)
    stages.mark('pretrain', fp_pre)
  synthetic_only = pretrain.evaluate(
      tf.keras.models.load_model(pretrained_path, compile=False),
      test.features, test.labels)

  # 5. Federated fine-tuning from the pretrained weights.
  fed_dir = os.path.join(out, 'federated')
  fed_model = os.path.join(fed_dir, 'final_model.keras')
  fed_config = dataclasses.replace(
      exp, initial_model=pretrained_path, output_dir=fed_dir)
  fp_fed = _fingerprint(fp_pre, dataclasses.replace(fed_config, cache_dir=None))
  if not stages.done('federated', fp_fed, fed_model):
    federated_experiment.run(fed_config)
    stages.mark('federated', fp_fed)
  final = pretrain.evaluate(
      tf.keras.models.load_model(fed_model, compile=False),
      test.features, test.labels)

  results = {
      'labels': names,
      'synthetic_records': len(prompts),
      'synthetic_only_test_accuracy': synthetic_only['test_accuracy'],
      'gptfl_test_accuracy': final['test_accuracy'],
      'rounds': exp.rounds,
  }
  io_utils.atomic_write_json(os.path.join(out, 'results.json'), results)
  return results


def _engine_versions() -> dict[str, str]:
  from gptfl_tff.generators import speech  # pylint: disable=g-import-not-at-top
  return {name: module.version()
          for name, module in speech.SPEECH_ENGINES.items()
          if module.is_available()}
