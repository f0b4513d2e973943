"""Tones for softphones to play, and a Goertzel filter to tell which tone a
recording holds. Pure Python (wave, array, math): nothing to install.

The WAV files are generated at test time (8 kHz, mono, 16-bit: what baresip's
aufile source wants for G.711), so none is committed.
"""
import array
import math
import sys
import wave

RATE = 8000        # G.711's sample rate: baresip's aufile source must match it
AMPLITUDE = 8000   # about -12 dBFS, far from clipping through G.711
BLOCK = 400        # samples per analysed block: 50 ms, 20 Hz bins
SILENCE_RMS = 300  # a block quieter than this holds no tone (the tone's RMS is ~5660)


def write_tone(path, frequency, seconds, rate=RATE, amplitude=AMPLITUDE):
    """A pure sine of frequency Hz lasting seconds, as a mono 16-bit WAV."""
    samples = array.array("h", (int(round(amplitude * math.sin(2 * math.pi * frequency * i / rate)))
                                for i in range(int(seconds * rate))))
    if sys.byteorder != "little":
        samples.byteswap()
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return path


def read_wav(path, channel=0):
    """(rate, samples) of a mono 16-bit WAV (one channel of a wider one: the first unless told)."""
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: {8 * w.getsampwidth()}-bit samples, not 16")
        channels, rate = w.getnchannels(), w.getframerate()
        samples = array.array("h", w.readframes(w.getnframes()))
    if sys.byteorder != "little":
        samples.byteswap()
    return rate, samples[channel::channels] if channels > 1 else samples


def goertzel_power(block, rate, frequency):
    """|X(f)|^2 of block at frequency (any frequency, not only a bin centre)."""
    coeff = 2 * math.cos(2 * math.pi * frequency / rate)
    s1 = s2 = 0.0
    for x in block:
        s1, s2 = x + coeff * s1 - s2, s1
    return s1 * s1 + s2 * s2 - coeff * s1 * s2


def tone_share(block, rate, frequency):
    """The share of block's energy that is a sine at frequency: about 1 for that
    pure tone, about 0 for another tone or noise. (A sine of amplitude A over N
    samples has |X|^2 = (A N / 2)^2 and energy A^2 N / 2.)"""
    energy = sum(x * x for x in block)
    if energy == 0:
        return 0.0
    return 2 * goertzel_power(block, rate, frequency) / (len(block) * energy)


class ToneReport:
    """What a recording holds, block by block: how much of it is sound at all,
    and the mean share of the sounding blocks' energy at each probed frequency."""

    def __init__(self, path, frequencies, block=BLOCK, channel=0):
        self.path = path
        self.rate, samples = read_wav(path, channel)
        self.seconds = len(samples) / self.rate if self.rate else 0.0
        self.blocks = 0
        self.sounding = 0
        totals = {f: 0.0 for f in frequencies}
        for start in range(0, len(samples) - block + 1, block):
            chunk = samples[start:start + block]
            self.blocks += 1
            if math.sqrt(sum(x * x for x in chunk) / block) < SILENCE_RMS:
                continue
            self.sounding += 1
            for f in frequencies:
                totals[f] += tone_share(chunk, self.rate, f)
        self.share = {f: (totals[f] / self.sounding if self.sounding else 0.0) for f in frequencies}

    @property
    def sounding_seconds(self):
        return self.sounding * BLOCK / self.rate if self.rate else 0.0

    def __str__(self):
        shares = ", ".join(f"{f} Hz {100 * s:.1f}%" for f, s in self.share.items())
        return (f"{self.path}: {self.seconds:.2f} s at {self.rate} Hz, {self.sounding_seconds:.2f} s sounding "
                f"({self.sounding}/{self.blocks} blocks); energy share of sounding blocks: {shares}")
