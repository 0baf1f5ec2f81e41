"""The torch-free core: what every part of the project agrees on and the runtime is built from.

Names (:mod:`~tts.core.names`), configuration dataclasses (:mod:`~tts.core.config`), file helpers
(:mod:`~tts.core.files`), the voice folder format, ``voice.json`` and the settings of a call
(:mod:`~tts.core.voice`), what a synthesizer returns (:mod:`~tts.core.output`,
:mod:`~tts.core.timestamps`), the numpy acoustic pipeline between the networks
(:mod:`~tts.core.pipeline`, :mod:`~tts.core.samplers`), numpy STFT and phase refinement
(:mod:`~tts.core.spectral`) and onnxruntime's session options (:mod:`~tts.core.onnx_options`).

No module here imports torch, nor any ``tts`` module outside ``tts.core`` and ``tts.text``
(tests/test_structure.py checks both).
"""
