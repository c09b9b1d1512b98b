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
"""Loading diffusers pipelines, once per process (SD and AudioLDM).

The generators built on diffusers (`stable_diffusion`, `audioldm`) load
their pipeline here: from a hub id or the folder of a pipeline saved with
`save_pretrained`, in fp16 on CUDA and fp32 elsewhere, with progress bars
off, kept for the rest of the process. A missing folder or a failed load
is a `ModelLoadError` that says how to provide the model offline.
"""

import os
from typing import Any, Callable, Optional

from gptfl_tff import errors

_PIPELINES = {}


class ModelLoadError(errors.UserError, RuntimeError):
  """A diffusion model could not be loaded; the message says what to do."""


def device(name: str) -> str:
  """The torch device a generator's `device` setting names.

  Args:
    name: 'cuda', 'cpu' or 'auto' (CUDA where torch sees it, else CPU).

  Returns:
    `name`, with 'auto' resolved.
  """
  import torch  # pylint: disable=g-import-not-at-top
  if name == 'auto':
    return 'cuda' if torch.cuda.is_available() else 'cpu'
  return name


def load_pipeline(
    pipeline_class: str, model: str, device_name: str,
    local_files_only: bool, *, model_name: str, hub_id: str,
    prepare: Optional[Callable[[Any], None]] = None, **kwargs: Any):
  """Loads (once per process) a diffusers pipeline onto its device.

  Args:
    pipeline_class: Name of the diffusers pipeline class, e.g.
      'AudioLDMPipeline'.
    model: Hub model id, or local folder (`~` expanded) of a pipeline saved
      with `save_pretrained`.
    device_name: 'cuda', 'cpu' or 'auto' (see `device`); fp16 on CUDA,
      fp32 elsewhere.
    local_files_only: Never touch the network (required offline).
    model_name: The model as error messages name it, e.g. 'AudioLDM'.
    hub_id: The hub id error messages suggest, e.g. 'cvssp/audioldm'.
    prepare: Called with the loaded pipeline before it is moved to its
      device (e.g. to swap its scheduler).
    **kwargs: Further `from_pretrained` arguments.

  Returns:
    The pipeline on its device, progress bars off: the same object for the
    same class, model, device and local_files_only.

  Raises:
    ModelLoadError: If the model cannot be loaded (offline: pass the folder
      of a pipeline saved with `save_pretrained`, and local_files_only).
  """
  key = (pipeline_class, model, device_name, local_files_only)
  if key not in _PIPELINES:
    import diffusers  # pylint: disable=g-import-not-at-top
    import torch  # pylint: disable=g-import-not-at-top
    where = device(device_name)
    dtype = torch.float16 if where.startswith('cuda') else torch.float32
    looks_local = model.startswith(('/', '.', '~'))
    if looks_local and not os.path.isdir(os.path.expanduser(model)):
      raise ModelLoadError(
          f'No saved pipeline folder at {model!r}. Pass a folder written by '
          f'{pipeline_class}.save_pretrained, or a hub id such as '
          f'{hub_id!r} where the hub is reachable.')
    try:
      pipe = getattr(diffusers, pipeline_class).from_pretrained(
          os.path.expanduser(model), dtype=dtype,
          local_files_only=local_files_only, **kwargs)
    except (OSError, ValueError) as e:
      raise ModelLoadError(
          f'Could not load {model_name} model {model!r} ({e}). Offline, '
          'download it elsewhere, save it with save_pretrained, and pass '
          'that folder with local_files_only.') from e
    if prepare is not None:
      prepare(pipe)
    pipe.set_progress_bar_config(disable=True)
    _PIPELINES[key] = pipe.to(where)
  return _PIPELINES[key]
