"""Naturalness proxy: DNSMOS P.835 (SIG, BAK, OVRL) and P.808 MOS from the ``speechmos`` wheel.

DNSMOS (Reddy et al., ICASSP 2021 / 2022, "DNSMOS P.835: a non-intrusive perceptual objective speech
quality metric to evaluate noise suppressors") predicts listener scores (1–5) from 16 kHz audio with
ONNX networks trained on crowd-sourced ratings of *noisy and enhanced* speech: SIG = speech signal
quality, BAK = background noise, OVRL = overall, P808 = a P.808 absolute category rating. It was not
trained on TTS, so it is a proxy: it ranks buzz, noise and smearing well, prosody not at all. Clips
shorter than 9.01 s are tiled to that length by speechmos; longer ones are scored on 9.01 s windows
with a 1 s hop and averaged.

The ONNX sessions are built here with a fixed thread count (speechmos' own ``run`` uses one global
session with onnxruntime's default threads), then speechmos' ``DNSMOS`` scoring routine is reused.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

DNSMOS_SAMPLE_RATE = 16000
KEYS = ("ovrl", "sig", "bak", "p808")


class DNSMOSScorer:
    """``scorer(wav, sr) -> {"ovrl", "sig", "bak", "p808"}`` (floats, 1–5)."""

    def __init__(self, threads: int = 1) -> None:
        import onnxruntime as ort
        from speechmos import dnsmos as sm

        root = Path(sm.__file__).parent
        primary = root / "dnsmos_models" / "sig_bak_ovr.onnx"
        p808 = root / "dnsmos_models" / "model_v8.onnx"
        for p in (primary, p808):
            if not p.is_file():
                raise FileNotFoundError(f"speechmos model missing: {p} (reinstall speechmos)")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, int(threads))
        opts.inter_op_num_threads = 1
        providers = ["CPUExecutionProvider"]
        model = sm.DNSMOS.__new__(sm.DNSMOS)  # its __init__ would build default-threaded sessions
        model.primary_model_path = str(primary)
        model.onnx_sess = ort.InferenceSession(os.fspath(primary), opts, providers=providers)
        model.p808_onnx_sess = ort.InferenceSession(os.fspath(p808), opts, providers=providers)
        self._model = model

    def __call__(self, wav: np.ndarray, sample_rate: int) -> dict[str, float]:
        """Score ``wav: (L,)`` float audio (resampled to 16 kHz, clipped to [-1, 1])."""
        if wav.ndim != 1 or wav.size == 0:
            raise ValueError(f"expected non-empty mono audio (L,), got shape {wav.shape}")
        if sample_rate != DNSMOS_SAMPLE_RATE:
            from tts.audio import resample

            wav = resample(wav.astype(np.float32), sample_rate, DNSMOS_SAMPLE_RATE)
        wav = np.clip(wav.astype(np.float32), -1.0, 1.0)
        out = self._model(wav, DNSMOS_SAMPLE_RATE, False)
        return {
            "ovrl": float(out["ovrl_mos"]),
            "sig": float(out["sig_mos"]),
            "bak": float(out["bak_mos"]),
            "p808": float(out["p808_mos"]),
        }
