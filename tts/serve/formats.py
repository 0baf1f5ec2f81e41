"""Audio response formats: ``wav`` and ``pcm`` stream as they are synthesised, ``flac`` is whole.

* ``pcm``: little-endian signed 16-bit mono samples at the voice's rate, no header (what the
  OpenAI API calls ``pcm``; theirs is 24 kHz, ours the voice's rate, given in ``X-Sample-Rate``).
* ``wav``: a 44-byte RIFF/WAVE header (PCM, 16-bit mono) then the same samples. The length is not
  known when the header leaves, so the RIFF and ``data`` chunk sizes are 0xFFFFFFFF, the value
  streaming encoders use for "until the end of the stream"; libsndfile, Python's ``wave``,
  ffmpeg and browsers read such a file to its real end (tested with soundfile and ``wave``).
* ``flac``: encoded by libsndfile once the whole text is spoken. A FLAC stream starts with
  STREAMINFO, whose total length and MD5 the encoder writes back at the end (RFC 9639 §8.2);
  sent before them it would hold "unknown", which is valid but which libsndfile ≤ 1.2 cannot
  ``read()`` in one call — so correctness for every decoder wins over early bytes here.

MP3 and Opus are refused: libsndfile's MPEG writer also rewrites its first frame at the end
(its Xing header; decoders then stop early), and its Ogg/Opus writer buffers everything anyway.
"""

from __future__ import annotations

import io
import struct

import numpy as np

FORMATS = ("wav", "pcm", "flac")  #: accepted ``response_format`` values
STREAMED = ("wav", "pcm")  #: formats whose bytes leave as each chunk is synthesised
CONTENT_TYPES = {"wav": "audio/wav", "pcm": "audio/pcm", "flac": "audio/flac"}
UNKNOWN_LENGTH = 0xFFFFFFFF


def wav_header(sample_rate: int, channels: int = 1, bits: int = 16) -> bytes:
    """A canonical 44-byte PCM WAVE header with "unknown" (0xFFFFFFFF) RIFF and data sizes."""
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", 1, channels, sample_rate, sample_rate * block, block, bits)
    return (
        b"RIFF"
        + struct.pack("<I", UNKNOWN_LENGTH)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", UNKNOWN_LENGTH)
    )


def pcm16(samples: np.ndarray) -> bytes:
    """``samples: (L,)`` float in [-1, 1] → little-endian 16-bit PCM bytes (clipped)."""
    return (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()


def flac_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    """``samples: (L,)`` → a complete 16-bit FLAC file (libsndfile's encoder)."""
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.clip(samples, -1.0, 1.0), sample_rate, format="FLAC", subtype="PCM_16")
    return buf.getvalue()
