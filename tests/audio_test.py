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
"""Tests for gptfl_tff.audio."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from gptfl_tff import audio
from tests import fixtures


class AudioTest(tf.test.TestCase, parameterized.TestCase):

  def test_decode_wav_round_trip(self):
    x = np.array([0.0, 0.5, -0.5, 0.25], np.float32)
    samples, rate = audio.decode_wav(fixtures.wav_bytes(x), 'a.wav')
    self.assertEqual(rate, 8000)
    self.assertAllClose(samples, x, atol=1e-4)

  @parameterized.named_parameters(
      ('garbage', b'not a wav file at all', 'not a readable WAV'),
      ('truncated', fixtures.wav_bytes(np.zeros(100))[:20], 'not a readable'),
      ('eight_bit', fixtures.wav_bytes(np.zeros(10), width=1), '16-bit'),
      ('empty', fixtures.wav_bytes(np.zeros(0)), 'no samples'),
  )
  def test_decode_wav_bad_input_names_file(self, contents, message):
    with self.assertRaisesRegex(audio.AudioError, f'bad.wav.*{message}'):
      audio.decode_wav(contents, 'bad.wav')

  def test_pad_or_trim_exact(self):
    self.assertAllEqual(audio.pad_or_trim(np.arange(3.0), 5), [0, 1, 2, 0, 0])
    self.assertAllEqual(audio.pad_or_trim(np.arange(6.0), 2), [2, 3])

  def test_trim_silence_exact(self):
    x = np.array([0, 0, 0.5, 0, -0.3, 0, 0], np.float32)
    self.assertAllClose(audio.trim_silence(x), [0.5, 0, -0.3])
    self.assertAllEqual(audio.trim_silence(np.zeros(3)), np.zeros(3))

  def test_resample_keeps_frequency(self):
    t = np.arange(8000) / 8000
    x = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    y = audio.resample(x, 8000, 16000)
    self.assertEqual(len(y), 16000)
    spectrum = np.abs(np.fft.rfft(y))
    self.assertAlmostEqual(np.argmax(spectrum) * 16000 / len(y), 1000, delta=2)

  def test_frontend_geometry_matches_fedaudio(self):
    config = audio.FrontEndConfig()
    self.assertEqual(config.num_samples, 16000)
    self.assertEqual(config.feature_shape, (94, 128))

  def test_log_mel_is_normalised_and_discriminative(self):
    config = audio.FrontEndConfig()
    waves = [fixtures.tone(0, 0, 0), fixtures.tone(9, 0, 0)]
    feats = audio.waveforms_to_features(waves, [8000, 8000], config)
    self.assertEqual(feats.shape, (2, 94, 128))
    self.assertAllClose(feats.mean(axis=(1, 2)), [0, 0], atol=1e-4)
    self.assertAllClose(feats.std(axis=(1, 2)), [1, 1], atol=1e-3)
    # The two tones light up different mel bands.
    self.assertNotEqual(
        np.argmax(feats[0].mean(0)), np.argmax(feats[1].mean(0))
    )

  def _burst(self, channel=(1.0,), noise=0.0, rate=16000):
    """0.5 s of white noise through an FIR `channel`, then 0.5 s of silence.

    With `noise`, a second, quiet noise (a microphone's hiss) runs through
    the whole second.
    """
    rng = np.random.default_rng(0)
    x = np.convolve(0.1 * rng.standard_normal(rate // 2), channel)[:rate // 2]
    x = np.concatenate([x, np.zeros(rate - rate // 2)])
    return (x + noise * rng.standard_normal(rate)).astype(np.float32)

  def _speech_frames(self, config):
    return slice(0, (config.sample_rate // 2 - config.n_fft)
                 // config.hop_length)

  @parameterized.named_parameters(
      ('band_mean', audio.Normalization.SPEECH_BAND_MEAN, True),
      ('utterance', audio.Normalization.UTTERANCE, False))
  def test_band_mean_removes_a_channel_colouring(self, normalization,
                                                 invariant):
    # A "microphone" whose response falls from +4 dB at 0 Hz to -8 dB at
    # Nyquist: a fixed gain per band, which band-mean normalisation cancels
    # on the speech frames and whole-utterance normalisation does not.
    config = audio.FrontEndConfig(normalization=normalization)
    feats = audio.waveforms_to_features(
        [self._burst(), self._burst(channel=(1.0, 0.6))],
        [16000, 16000], config)
    speech = self._speech_frames(config)
    diff = np.abs(feats[0, speech] - feats[1, speech]).mean()
    if invariant:
      self.assertLess(diff, 0.02)
    else:
      self.assertGreater(diff, 0.08)

  @parameterized.named_parameters(('floor', 50.0, True),
                                  ('no_floor', None, False))
  def test_relative_floor_hides_a_quiet_noise_floor(self, floor_db,
                                                    invariant):
    # The same clip from a silent and from a hissing (-60 dB) microphone.
    config = audio.FrontEndConfig(
        floor_db=floor_db, normalization=audio.Normalization.UTTERANCE)
    feats = audio.waveforms_to_features(
        [self._burst(), self._burst(noise=1e-4)], [16000, 16000], config)
    diff = np.abs(feats[0] - feats[1]).mean()
    if invariant:
      self.assertLess(diff, 0.01)
    else:
      self.assertGreater(diff, 0.04)

  @parameterized.named_parameters(('floor', {'floor_db': 0.0}),
                                  ('speech_range', {'speech_frame_range': 0}))
  def test_bad_frontend_settings_are_refused(self, kwargs):
    with self.assertRaisesRegex(ValueError, 'must be > 0'):
      audio.FrontEndConfig(**kwargs)

  def test_empty_list_gives_empty_features(self):
    feats = audio.waveforms_to_features([], [], audio.FrontEndConfig())
    self.assertEqual(feats.shape, (0, 94, 128))


if __name__ == '__main__':
  tf.test.main()
