"""Running a voice: the synthesizers and the choice between them.

- :mod:`~tts.runtime.base`: ``SynthesizerBase``, what a synthesizer does besides its networks (torch-free);
- :mod:`~tts.runtime.onnx`: ``OnnxSynthesizer``, the networks on onnxruntime (torch-free);
- :mod:`~tts.runtime.torch`: ``Synthesizer`` and ``load_voice``, the networks on PyTorch;
- :mod:`~tts.runtime.load`: ``tts.load(voice, backend="auto")``, which picks one (torch-free until it
  picks PyTorch).

Every module here but :mod:`~tts.runtime.torch` is torch-free (tests/test_structure.py checks it).
"""
