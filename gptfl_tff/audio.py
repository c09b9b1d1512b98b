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
"""The audio front end shared by every audio path (real and synthetic).

Decode 16-bit PCM WAV -> mono float32 in [-1, 1] -> resample to the task rate
-> pad or trim to a fixed length -> log-mel spectrogram -> per-utterance
normalisation. The log-mel settings follow the FedAudio benchmark (Zhang et
al., 2022), which GPT-FL uses for its audio experiments (GPT-FL, Sec. 4.1):
128 mel bins, n_fft 1024, hop 160 at 16 kHz.

Three settings close much of the gap between synthetic and real
recordings (beyond the paper; measured in docs/results.md section 13). The
log is taken of the mel power plus a floor `floor_db` below the utterance's
loudest bin, so the noise floor of a microphone (or the silence of a TTS
engine) does not become a feature; the bands start at 100 Hz, above mains
hum and rumble; and speech tasks subtract each mel band's mean over the
speech frames (cepstral mean normalisation in the log-mel domain), which
removes a recording channel's fixed colouring (a microphone's response).
`FrontEndConfig(lower_edge_hz=20, floor_db=None,
normalization=Normalization.UTTERANCE)` is FedAudio's front end, which
ESC-50 keeps and every audio task used before that change.

All feature maths is TensorFlow (`tf.signal`, `tensorflow_io` for
resampling), so the same graph can run inside TFF computations.
"""

import dataclasses
import enum
import functools
import io
import wave

import numpy as np
import tensorflow as tf
import tensorflow_io as tfio

from gptfl_tff import errors


class AudioError(errors.UserError, ValueError):
  """A recording that cannot be used; the message names the file and fix."""


class Normalization(enum.Enum):
  """How each utterance's log-mel is normalised.

  UTTERANCE: zero mean and unit variance over all frames and bands.
  SPEECH_BAND_MEAN: first subtract each band's mean over the speech frames
    (those within `speech_frame_range` of the loudest frame), then as
    UTTERANCE.
  """
  UTTERANCE = 'utterance'
  SPEECH_BAND_MEAN = 'speech_band_mean'


@dataclasses.dataclass(frozen=True)
class FrontEndConfig:
  """Settings of the log-mel front end.

  Attributes:
    sample_rate: Rate every waveform is resampled to, in Hz.
    clip_seconds: Waveforms are padded with zeros or trimmed to this length.
    n_fft: FFT (and window) length in samples.
    hop_length: Hop between frames in samples.
    num_mel_bins: Number of mel bands.
    lower_edge_hz: Lowest mel band edge (100 Hz, above mains hum and
      room rumble; FedAudio's 20 Hz let a microphone's rumble in).
    upper_edge_hz: Highest mel band edge; `None` means Nyquist.
    log_offset: Added before the log to keep it finite.
    floor_db: If set, a floor this many dB below the utterance's largest
      mel power is added before the log (`log_offset` then only keeps an
      all-silent clip finite).
    normalization: Per-utterance normalisation of the log-mel.
    speech_frame_range: SPEECH_BAND_MEAN: frames whose mean log-mel is
      within this many nepers (natural-log units) of the loudest frame's
      count as speech.
  """

  sample_rate: int = 16000
  clip_seconds: float = 1.0
  n_fft: int = 1024
  hop_length: int = 160
  num_mel_bins: int = 128
  lower_edge_hz: float = 100.0
  upper_edge_hz: float | None = None
  log_offset: float = 1e-6
  floor_db: float | None = 50.0
  normalization: Normalization = Normalization.SPEECH_BAND_MEAN
  speech_frame_range: float = 6.0

  def __post_init__(self):
    if self.floor_db is not None and self.floor_db <= 0:
      raise ValueError(f'floor_db must be > 0 or None, got {self.floor_db}.')
    if self.speech_frame_range <= 0:
      raise ValueError('speech_frame_range must be > 0, got '
                       f'{self.speech_frame_range}.')

  @property
  def num_samples(self) -> int:
    return int(round(self.sample_rate * self.clip_seconds))

  @property
  def num_frames(self) -> int:
    return 1 + (self.num_samples - self.n_fft) // self.hop_length

  @property
  def feature_shape(self) -> tuple[int, int]:
    return (self.num_frames, self.num_mel_bins)


def decode_wav(contents: bytes, name: str) -> tuple[np.ndarray, int]:
  """Decodes a 16-bit PCM WAV file to mono float32 samples.

  Args:
    contents: The bytes of the file.
    name: The file's name or path, used in error messages.

  Returns:
    `(samples, sample_rate)`: float32 samples in [-1, 1] (channels averaged)
    and the file's sample rate in Hz.

  Raises:
    AudioError: If the bytes are not a readable 16-bit PCM WAV file or hold
      no samples.
  """
  try:
    with wave.open(io.BytesIO(contents), 'rb') as reader:
      channels = reader.getnchannels()
      width = reader.getsampwidth()
      rate = reader.getframerate()
      frames = reader.readframes(reader.getnframes())
  except (wave.Error, EOFError) as e:
    raise AudioError(
        f'{name}: not a readable WAV file ({e}). Re-export it as 16-bit PCM '
        'WAV or remove it from the data folder.'
    ) from e
  if width != 2:
    raise AudioError(
        f'{name}: {8 * width}-bit samples; only 16-bit PCM is supported. '
        'Convert it, e.g. `sox in.wav -b 16 out.wav`.'
    )
  samples = np.frombuffer(frames, dtype='<i2').astype(np.float32) / 32768.0
  if channels > 1:
    usable = len(samples) - len(samples) % channels
    samples = samples[:usable].reshape(-1, channels).mean(axis=1)
  if samples.size == 0:
    raise AudioError(f'{name}: the WAV file holds no samples.')
  return samples, rate


@functools.lru_cache(maxsize=None)
def _resampler(rate_in: int, rate_out: int):
  """One traced resampler per rate pair, for waveforms of any length."""

  @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
  def resample_fn(samples):
    out = tfio.audio.resample(
        samples[:, tf.newaxis], rate_in=rate_in, rate_out=rate_out)
    return out[:, 0]

  return resample_fn


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
  """Resamples a 1-D waveform with tensorflow-io's polyphase resampler."""
  if rate_in == rate_out:
    return samples.astype(np.float32)
  return _resampler(int(rate_in), int(rate_out))(
      tf.constant(samples, tf.float32)).numpy()


def trim_silence(samples: np.ndarray, threshold: float = 1e-4) -> np.ndarray:
  """Drops leading and trailing samples whose magnitude is below threshold."""
  loud = np.flatnonzero(np.abs(samples) > threshold)
  if loud.size == 0:
    return samples
  return samples[loud[0] : loud[-1] + 1]


def pad_or_trim(samples: np.ndarray, num_samples: int) -> np.ndarray:
  """Zero-pads at the end or trims the centre `num_samples` samples."""
  if len(samples) >= num_samples:
    start = (len(samples) - num_samples) // 2
    return samples[start : start + num_samples]
  return np.pad(samples, (0, num_samples - len(samples)))


def _mel_matrix(config: FrontEndConfig) -> tf.Tensor:
  return tf.signal.linear_to_mel_weight_matrix(
      num_mel_bins=config.num_mel_bins,
      num_spectrogram_bins=config.n_fft // 2 + 1,
      sample_rate=config.sample_rate,
      lower_edge_hertz=config.lower_edge_hz,
      upper_edge_hertz=config.upper_edge_hz or config.sample_rate / 2,
  )


def log_mel(waveforms: tf.Tensor, config: FrontEndConfig) -> tf.Tensor:
  """Normalised log-mel features of a batch of fixed-length waveforms.

  Args:
    waveforms: float32 `[batch, config.num_samples]`.
    config: Front-end settings.

  Returns:
    float32 `[batch, config.num_frames, config.num_mel_bins]`, each
    utterance normalised as `config.normalization` says, ending with zero
    mean and unit variance.
  """
  stft = tf.signal.stft(
      waveforms,
      frame_length=config.n_fft,
      frame_step=config.hop_length,
      fft_length=config.n_fft,
      window_fn=tf.signal.hann_window,
  )
  power = tf.math.square(tf.abs(stft))
  mel = tf.tensordot(power, _mel_matrix(config), 1)
  if config.floor_db is None:
    logmel = tf.math.log(mel + config.log_offset)
  else:
    floor = tf.reduce_max(mel, axis=[1, 2], keepdims=True) * (
        10.0 ** (-config.floor_db / 10.0))
    logmel = tf.math.log(mel + floor + config.log_offset)
  if config.normalization == Normalization.SPEECH_BAND_MEAN:
    loudness = tf.reduce_mean(logmel, axis=2, keepdims=True)
    speech = tf.cast(
        loudness >= tf.reduce_max(loudness, axis=1, keepdims=True)
        - config.speech_frame_range, tf.float32)
    band_mean = tf.reduce_sum(logmel * speech, axis=1, keepdims=True) / (
        tf.reduce_sum(speech, axis=1, keepdims=True))
    logmel -= band_mean
  mean, variance = tf.nn.moments(logmel, axes=[1, 2], keepdims=True)
  return (logmel - mean) * tf.math.rsqrt(variance + 1e-6)


def waveforms_to_features(
    waveforms: list[np.ndarray],
    rates: list[int],
    config: FrontEndConfig,
    batch_size: int = 256,
) -> np.ndarray:
  """Runs the whole front end on a list of decoded waveforms.

  Args:
    waveforms: 1-D float32 arrays.
    rates: Sample rate of each waveform.
    config: Front-end settings.
    batch_size: How many utterances go through `log_mel` at once.

  Returns:
    float32 `[len(waveforms), num_frames, num_mel_bins]`.
  """
  fixed = np.stack([
      pad_or_trim(resample(w, r, config.sample_rate), config.num_samples)
      for w, r in zip(waveforms, rates)
  ]) if waveforms else np.zeros((0, config.num_samples), np.float32)
  out = [
      log_mel(tf.constant(fixed[i : i + batch_size]), config).numpy()
      for i in range(0, len(fixed), batch_size)
  ]
  if not out:
    return np.zeros((0,) + config.feature_shape, np.float32)
  return np.concatenate(out).astype(np.float32)
