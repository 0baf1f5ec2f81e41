"""Evaluation: judges of intelligibility, quality and speed (``tts-eval``; see docs/evaluation.md).

- :mod:`~tts.eval.asr` — pocketsphinx transcripts, WER/CER with text normalisation
- :mod:`~tts.eval.dnsmos` — DNSMOS P.835 (SIG/BAK/OVRL) and P.808 naturalness proxies
- :mod:`~tts.eval.distance` — DTW mel-cepstral distortion, log-F0 RMSE, voicing error, PESQ, STOI
- :mod:`~tts.eval.speed` — real-time factor, time to first audio, peak memory
- :mod:`~tts.eval.score` — scoring many files in parallel, summaries and tables
- :mod:`~tts.eval.voice` — held-out comparison with the teacher, copy-synthesis

The judges need the ``eval`` extra (``pip install 'latent-tts[eval]'``); nothing is imported here.
"""
