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
"""The GPT-FL chain for any task, end to end (GPT-FL, Sec. 3, Fig. 1).

Stages, each in its own folder under the experiment folder:

  1. labels     IBLT label discovery over the clients' label names, with
                secure sums (`labels/labels.json`; Sec. 3.1).
  2. prompts    prompts per discovered label (`prompts/prompts.jsonl`;
                Sec. 3.2).
  3. synthetic  generation into sharded TFRecords (`synthetic/`; Sec. 3.2).
  4. pretrain   centralized pretraining on the synthetic data
                (`pretrain/pretrained.keras`; Sec. 3.3); its accuracy on the
                real validation and test splits is "synthetic-only".
  5. federated  FL fine-tuning from the pretrained weights on the clients'
                real data (`federated/`; Sec. 3.3).

then `results.json`. Every stage follows `stages`' one rule: same settings
skip (or resume part-way: shards, epochs, rounds), other settings are
refused with the changed settings named, `redo_from` redoes a stage and
every later one. A stage's settings hold digests of its inputs (the label
list, the prompts, the synthetic manifest, the model file), not paths, so
with `shared_dir` the prompts, synthetic data and pretrained model are
shared by every chain whose inputs are the same (benchmark grids).
"""

import dataclasses
import json
import os
from typing import Any, Optional

import numpy as np
import tensorflow as tf

from gptfl_tff import errors
from gptfl_tff import evaluation
from gptfl_tff import io_utils
from gptfl_tff import models
from gptfl_tff import runtime
from gptfl_tff import stages
from gptfl_tff import tasks
from gptfl_tff.discovery import label_discovery
from gptfl_tff.finetuning import federated_experiment
from gptfl_tff.generators import registry
from gptfl_tff.generators import speech
from gptfl_tff.pretraining import pretrain
from gptfl_tff.prompting import expanders
from gptfl_tff.prompting import llm
from gptfl_tff.prompting import prompts as prompts_lib
from gptfl_tff.synthesis import generation
from gptfl_tff.tasks import base

RESULTS = 'results.json'


@dataclasses.dataclass(frozen=True)
class LabelConfig:
  """IBLT label discovery settings (`label_discovery`)."""

  capacity: int = label_discovery.DEFAULT_CAPACITY
  max_capacity: int = label_discovery.DEFAULT_MAX_CAPACITY
  max_bytes: int = label_discovery.DEFAULT_STRING_MAX_BYTES


@dataclasses.dataclass(frozen=True)
class ChainConfig:
  """Settings of every stage.

  Attributes:
    experiment: Data, partition and federated fine-tuning settings (its
      `initial_model` and `output_dir` are set by the chain).
    output_dir: The experiment folder.
    labels: Label discovery settings.
    prompts_per_label: Synthetic examples per discovered label.
    voice_mix: Speech prompts' voice distribution (audio tasks).
    prompt_file: Image tasks: a JSON prompt file `{label: [prompts]}` the
      prompts come from (`expanders.FileExpander`).
    prompt_llm: Image tasks: the LLM that expands label names into prompts
      (`llm.LLMExpander`; its texts are cached in the prompts stage).
      Neither this nor `prompt_file`: templates.
    generator: The generator and its settings.
    pretraining: Centralized pretraining settings.
    shared_dir: If set, the prompts, synthetic and pretrain stages live in
      `{shared_dir}/{stage}-{fingerprint}` and are shared by chains with the
      same inputs.
  """

  experiment: federated_experiment.ExperimentConfig
  output_dir: str
  labels: LabelConfig = LabelConfig()
  prompts_per_label: int = 300
  voice_mix: prompts_lib.VoiceMix = prompts_lib.VoiceMix()
  prompt_file: Optional[str] = None
  prompt_llm: Optional[llm.Backend] = None
  generator: registry.GeneratorConfig = registry.GeneratorConfig()
  pretraining: pretrain.PretrainConfig = pretrain.PretrainConfig()
  shared_dir: Optional[str] = None


EXPANSION = 'expansion.json'


def expander_settings(config: ChainConfig, task: base.Task) -> dict[str, Any]:
  """The prompt source's part of the prompts stage's settings.

  Args:
    config: The chain.
    task: The task (its `prompt_kind`).

  Returns:
    The prompt file's content digest (not its path), or the LLM's identity
    with the query's digest; nothing for templates, so stages made before
    these sources existed keep their fingerprints.

  Raises:
    errors.UserError: If both sources are given, or one for a speech task
      (whose prompts are its label words).
  """
  if config.prompt_file and config.prompt_llm:
    raise errors.UserError(
        'Give one prompt source: --gen_prompt_file or --gen_llm, not '
        'both.')
  if task.prompt_kind == 'speech' and (config.prompt_file or
                                       config.prompt_llm):
    raise errors.UserError(
        f'--gen_prompt_file and --gen_llm apply to image and sound tasks; '
        f'task {config.experiment.task} speaks its label words. Drop the '
        'flag.')
  if config.prompt_file and not os.path.isfile(config.prompt_file):
    raise errors.UserError(
        f'--gen_prompt_file={config.prompt_file}: no such file.')
  if config.prompt_file:
    return {'prompt_file': stages.file_digest(config.prompt_file)}
  if config.prompt_llm:
    return {'prompt_llm': (f'{config.prompt_llm.identity} '
                           f'query={llm.query_digest(task.prompt_kind)}')}
  return {}


def create_expander(config: ChainConfig, labels: list[str], folder: str,
                    progress: bool = False, modality: str = 'image'
                    ) -> Optional[prompts_lib.Expander]:
  """The prompts stage's expander.

  Args:
    config: The chain.
    labels: The discovered labels.
    folder: The prompts stage's folder (an LLM's cache lives there, so a
      killed stage resumes from it).
    progress: Show an LLM's progress bars.
    modality: What an LLM's prompts generate ('image' or 'sound').

  Returns:
    A file or LLM expander, or None for the task's templates.
  """
  if config.prompt_file:
    return expanders.FileExpander(config.prompt_file, labels)
  if config.prompt_llm:
    return llm.LLMExpander(config.prompt_llm, labels,
                           os.path.join(folder, 'llm_cache.jsonl'),
                           modality=modality, progress=progress)
  return None


def check_every_label(manifest: dict[str, Any], labels: list[str],
                      folder: str) -> None:
  """Refuses synthetic data missing a label (a filter may drop them all).

  Args:
    manifest: The synthetic stage's manifest.
    labels: The discovered labels.
    folder: The synthetic stage's folder (named in the message).

  Raises:
    stages.StageError: Naming the labels and the flags that change it.
  """
  empty = [n for n in labels if not manifest['counts_per_label'].get(n)]
  if empty:
    raise stages.StageError(
        f'{folder} holds no synthetic example of {empty} (the ASR filter '
        f"dropped {manifest.get('dropped_per_voice')}); pass "
        '--nogen_asr_filter or another --gen_voice_mix.')


def expansion_summary(expander: Optional[prompts_lib.Expander],
                      texts: list[str]) -> dict[str, Any]:
  """What the prompts stage measured (written to `EXPANSION`).

  Args:
    expander: The stage's expander, after use.
    texts: The prompts' texts.

  Returns:
    Counts and distinct-2 of the texts (None for one-word prompts); for an
    LLM also its identity, the
    texts read per label, and the texts generated, their seconds and rate.
  """
  words = max((len(t.split()) for t in texts), default=0)
  out: dict[str, Any] = {
      'prompts': len(texts), 'distinct': len(set(texts)),
      # Speech prompts are single words: no 2-grams.
      'distinct_2': expanders.distinct_n(texts, 2) if words > 1 else None}
  if isinstance(expander, llm.LLMExpander):
    out.update(llm=expander.backend.identity,
               texts_read=expander.samples,
               texts_generated=expander.generated,
               generation_seconds=expander.seconds,
               prompts_per_second=expander.prompts_per_second())
  return out


def client_label_names(task: base.Task, train: base.ExampleSet,
                       parts: dict[str, np.ndarray]) -> list[list[str]]:
  """Each client's distinct label names (what it feeds label discovery)."""
  return [[task.label_names[c] for c in np.unique(train.labels[idx])]
          for idx in parts.values()]


class _Chain:
  """One chain run: stage folders and the rule applied to each."""

  def __init__(self, config: ChainConfig, redo_from: Optional[str]):
    self.config = config
    self.redo = stages.redo_flags(redo_from)

  def stage_dir(self, stage: str, settings: dict[str, Any]) -> str:
    shared = self.config.shared_dir and stage in (
        'prompts', 'synthetic', 'pretrain')
    if shared:
      return os.path.join(self.config.shared_dir,
                          f'{stage}-{stages.fingerprint(settings)}')
    return os.path.join(self.config.output_dir, stage)

  def begin(self, stage: str, settings: dict[str, Any]
            ) -> tuple[str, stages.Status]:
    folder = self.stage_dir(stage, settings)
    return folder, stages.begin(folder, stage, settings, self.redo[stage])


def run(config: ChainConfig, redo_from: Optional[str] = None,
        progress: bool = False) -> dict[str, Any]:
  """Runs, resumes or skips every stage; returns the results.

  Args:
    config: Settings of every stage.
    redo_from: Redo this stage and every later one (`stages.ORDER`).
    progress: Show progress bars (generation, epochs, rounds).

  Returns:
    The results also written to `{output_dir}/results.json`.

  Raises:
    errors.UserError: On bad data or settings, or a stage folder made with
      other settings.
  """
  chain = _Chain(config, redo_from)
  exp = config.experiment
  task = tasks.get(exp.task)
  registry.check(config.generator, task.prompt_kind)
  prompt_source = expander_settings(config, task)  # Fails early.
  splits = task.load(exp.data)
  parts = federated_experiment.create_partition(splits.train, exp)

  # 1. Label discovery (secure sums run in the test context in simulation).
  settings = dict(federated_experiment.data_settings(exp),
                  **federated_experiment.partition_settings(exp))
  settings.update(stages.settings_of(config.labels, 'iblt.'))
  folder, status = chain.begin('labels', settings)
  labels_path = os.path.join(folder, 'labels.json')
  if status != stages.Status.DONE:
    runtime.set_default_context(runtime.ContextKind.TEST)
    found = label_discovery.discover_labels(
        client_label_names(task, splits.train, parts), config.labels.capacity,
        config.labels.max_capacity, config.labels.max_bytes, exp.seed)
    io_utils.atomic_write_json(labels_path, dataclasses.asdict(found))
    stages.finish(folder)
  with open(labels_path) as f:
    names = sorted(json.load(f)['labels'], key=task.label_id)

  # 2. Prompts.
  speaks = task.prompt_kind == 'speech'
  settings = stages.settings_of({
      'task': exp.task, 'labels': names, 'per_label': config.prompts_per_label,
      'seed': exp.seed,
      # The voices actually installed, not the ones asked for.
      'voice_mix': (speech.installed_voice_mix(config.voice_mix)
                    if speaks else None),
      **prompt_source})
  folder, status = chain.begin('prompts', settings)
  prompts_path = os.path.join(folder, 'prompts.jsonl')
  if status != stages.Status.DONE:
    expander = create_expander(config, names, folder, progress,
                               task.prompt_kind)
    created = task.create_prompts(names, config.prompts_per_label, exp.seed,
                                  config.voice_mix, expander)
    io_utils.atomic_write_json(
        os.path.join(folder, EXPANSION),
        expansion_summary(expander, [p.text for p in created]))
    prompts_lib.write_jsonl(prompts_path, created)
    stages.finish(folder)
  prompts = prompts_lib.read_jsonl(prompts_path)

  # 3. Generation (resumes by shard).
  settings = dict(stages.settings_of(
      registry.settings(config.generator, task, prompts), 'generator.'),
                  prompts=generation.prompts_digest(prompts))
  synthetic_dir, status = chain.begin('synthetic', settings)
  if status != stages.Status.DONE:
    records_fn, batch_size = registry.create_records_fn(
        config.generator, task, synthetic_dir, exp.seed)
    result = generation.generate(
        prompts, synthetic_dir, records_fn,
        records_per_shard=config.generator.records_per_shard,
        batch_size=batch_size, workers=config.generator.workers,
        info={'seed': exp.seed, 'generator': settings}, progress=progress)
    if not result.manifest['complete']:
      raise stages.StageError(
          f'{synthetic_dir} is missing shards after generation; rerun the '
          'same command to finish them.')
    stages.finish(synthetic_dir)
  with open(os.path.join(synthetic_dir, generation.MANIFEST)) as f:
    manifest = json.load(f)
  check_every_label(manifest, names, synthetic_dir)

  # 4. Centralized pretraining (resumes from its epoch checkpoints).
  settings = stages.settings_of({
      'task': exp.task, 'model': exp.model, 'pretraining': config.pretraining,
      'features': task.feature_settings,
      'synthetic': stages.file_digest(
          os.path.join(synthetic_dir, generation.MANIFEST))})
  pretrain_dir, status = chain.begin('pretrain', settings)
  pretrained = os.path.join(pretrain_dir, 'pretrained.keras')
  if status != stages.Status.DONE:
    task.pretrain(synthetic_dir,
                  lambda: task.create_model(exp.model, config.pretraining.seed),
                  config.pretraining, pretrain_dir, progress=progress)
    stages.finish(pretrain_dir)
  synthetic_only = evaluation.evaluate(
      models.load_initial_model(pretrained),
      federated_experiment.eval_splits(task, splits))

  # 5. Federated fine-tuning from the pretrained weights.
  fed_dir = os.path.join(config.output_dir, 'federated')
  rows = federated_experiment.run(
      dataclasses.replace(exp, initial_model=pretrained, output_dir=fed_dir),
      splits, redo=chain.redo['federated'], progress=progress)
  final = rows[-1]
  results = {
      'task': exp.task,
      'labels': names,
      'prompts': len(prompts),
      # Fewer than the prompts where the ASR filter dropped clips.
      'synthetic_records': manifest['records'],
      'dropped_per_voice': manifest.get('dropped_per_voice', {}),
      'synthetic_only': synthetic_only,
      'final': {k: final[k] for k in final if k.startswith(('val_', 'test_'))
                and final[k] is not None},
      'rounds': final['round'],
  }
  io_utils.atomic_write_json(os.path.join(config.output_dir, RESULTS), results)
  tf.keras.backend.clear_session()
  return results
