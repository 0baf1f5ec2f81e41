"""Making voices: a voice folder from trained stage weights (:mod:`~tts.export.assemble`) and its
ONNX export for the torch-free runtime (:mod:`~tts.export.onnx`). Imports torch."""
