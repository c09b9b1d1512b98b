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
"""Prompt expansion from a prompt file, cleaning, and prompt-set measures.

GPT-FL, Sec. 3.2: an LLM fills in the blank around each label name
(`___ airplane ___` -> "Large commercial airplane in the blue sky"). The
authors published the CIFAR-10 prompts their model wrote, as JSON
`{label: [prompts]}`. `FileExpander` serves such a file (theirs, or one a
user's LLM wrote) through `prompts.Expander`, so the chain's image prompts
can come from it without changing callers.

Every expander's output goes through the same rules:

  * `clean`: seq2seq artefacts (`<extra_id_N>`, `<pad>`, `</s>`) and
    surrounding quotes are removed, whitespace collapsed;
  * `drifts`: a prompt that does not name its label, or names another label
    of the task, is dropped (it would teach the wrong class);
  * duplicates are dropped; the rest are drawn in a seeded order, cycling
    when a label has fewer than the prompts asked for, so every label gets
    the same number (the paper's uniform prompts per label).

`distinct_n` and `drift_rate` measure a prompt set (diversity and label
drift; docs/results.md, section 11).
"""

import json
import re
from typing import Iterable, Mapping, Sequence

import numpy as np

from gptfl_tff.prompting import prompts

_ARTEFACT_RE = re.compile(r'<extra_id_\d+>|<pad>|</s>|<s>|<unk>')
_ARTICLE_RE = re.compile(r'^(a|an|the)\s+', re.IGNORECASE)


def clean(text: str) -> str:
  """`text` without seq2seq artefacts, outer quotes and extra whitespace."""
  text = _ARTEFACT_RE.sub(' ', text)
  text = ' '.join(text.split())
  return text.strip('"\'` ').strip()


def label_key(name: str) -> str:
  """A label name as files write it, normalised: 'an Airplane' -> 'airplane'.

  Lower case, a leading article removed, underscores as spaces.
  """
  return _ARTICLE_RE.sub('', ' '.join(name.replace('_', ' ').split())).lower()


def _names(label: str, text: str) -> bool:
  words = r'\s+'.join(re.escape(w) for w in label_key(label).split())
  return re.search(rf'\b{words}(e?s)?\b', text, re.IGNORECASE) is not None


def drifts(text: str, label: str, labels: Sequence[str]) -> bool:
  """Whether a prompt misses its label or names another of `labels`.

  A label is named by its words on word boundaries, case-insensitively,
  plural allowed ('trucks'). Another label counts only where it is not part
  of this one's name ('truck' in 'fire truck').

  Args:
    text: The prompt.
    label: Its label.
    labels: Every label of the task.

  Returns:
    True if the prompt should be dropped.
  """
  if not _names(label, text):
    return True
  own = label_key(label)
  return any(_names(other, text) for other in labels
             if label_key(other) != own and label_key(other) not in own)


def keep(texts: Iterable[str], label: str,
         labels: Sequence[str]) -> list[str]:
  """`texts` cleaned, without those that drift or are empty, deduplicated.

  Args:
    texts: Raw prompts for `label`.
    label: Their label.
    labels: Every label of the task.

  Returns:
    The kept texts, in their first order.
  """
  return list(dict.fromkeys(
      t for t in map(clean, texts) if t and not drifts(t, label, labels)))


def distinct_n(texts: Sequence[str], n: int = 2) -> float:
  """Distinct word n-grams over all n-grams of `texts` (Li et al. 2016).

  Raises:
    ValueError: If the texts hold no n-gram.
  """
  grams = [tuple(words[i:i + n]) for t in texts
           for words in [t.lower().split()]
           for i in range(len(words) - n + 1)]
  if not grams:
    raise ValueError(f'No {n}-grams in {len(texts)} texts.')
  return len(set(grams)) / len(grams)


def drift_rate(by_label: Mapping[str, Sequence[str]],
               labels: Sequence[str]) -> float:
  """The share of prompts `drifts` drops (after `clean`)."""
  total = sum(len(t) for t in by_label.values())
  dropped = sum(drifts(clean(t), label, labels)
                for label, texts in by_label.items() for t in texts)
  return dropped / total if total else 0.0


def read_prompt_file(path: str) -> dict[str, list[str]]:
  """A JSON prompt file `{label: [prompts]}`, keys normalised (`label_key`).

  Raises:
    prompts.PromptError: If the file is not such an object (names the file
      and the flag that gave it).
  """
  try:
    with open(path, encoding='utf-8') as f:
      data = json.load(f)
  except (OSError, json.JSONDecodeError) as e:
    raise prompts.PromptError(
        f'--gen_prompt_file={path}: cannot read a JSON prompt file ({e}).'
    ) from e
  if not isinstance(data, dict) or not all(
      isinstance(v, list) and all(isinstance(t, str) for t in v)
      for v in data.values()):
    raise prompts.PromptError(
        f'--gen_prompt_file={path}: expected a JSON object '
        '{"label": ["prompt", ...], ...}.')
  out: dict[str, list[str]] = {}
  for name, texts in data.items():
    out.setdefault(label_key(name), []).extend(texts)
  return out


class FileExpander:
  """Prompts for each label from a prompt file (see module docstring)."""

  def __init__(self, path: str, labels: Sequence[str]):
    """Reads, cleans and filters the file for the task's labels.

    Args:
      path: JSON `{label: [prompts]}` (`read_prompt_file`).
      labels: The labels prompts will be asked for; other labels in the
        file are ignored, and drift is judged against these.

    Raises:
      prompts.PromptError: If a label has no entry, or no prompt survives
        cleaning and the drift filter (names the label and the file).
    """
    by_key = read_prompt_file(path)
    self.path = path
    self.kept: dict[str, list[str]] = {}
    self.dropped: dict[str, int] = {}
    for label in labels:
      texts = by_key.get(label_key(label))
      if texts is None:
        raise prompts.PromptError(
            f'--gen_prompt_file={path} has no prompts for label {label!r}; '
            f'its labels are {sorted(by_key)}. Add them, or drop the flag '
            'to use templates.')
      kept = keep(texts, label, labels)
      if not kept:
        raise prompts.PromptError(
            f'--gen_prompt_file={path}: none of the {len(texts)} prompts for '
            f'{label!r} names it without naming another label.')
      self.kept[label] = kept
      self.dropped[label] = len(texts) - len(kept)

  def expand(self, label: str, count: int,
             rng: np.random.Generator) -> list[str]:
    """`count` of the label's kept prompts in a seeded order, cycling."""
    return prompts.cycle(self.kept[label], count, rng)
