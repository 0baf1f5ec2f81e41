"""The project's shared names: choices that command lines, voice files and the runtimes must agree on.

Torch-free and import-free, so that anything (an argument parser, a voice.json reader, the
ONNX runtime) can use them without pulling in a model; every name is defined here once and the
modules that implement the choices import it from here (tests check the implementations match).
"""

from __future__ import annotations

#: inference precisions of the PyTorch backend (:mod:`tts.models.precision`)
PRECISIONS = ("auto", "fp32", "bf16")
#: ODE samplers (:data:`tts.core.samplers.SAMPLERS` implements each)
SAMPLERS = ("euler", "heun", "dpmpp2m")
#: ways to turn predicted log-durations into whole frames
#: (:func:`tts.models.encoder.duration.durations_from_log`)
DURATION_ROUNDING = ("ceil", "round")
#: how an exported iSTFT vocoder stores its ConvNeXt weights (:func:`tts.export.onnx.quantize_vocoder`)
VOCODER_WEIGHTS = ("int8", "fp32")

#: sub-folder of a voice folder that holds its ONNX export, and the export's manifest
ONNX_DIR = "onnx"
ONNX_MANIFEST = "manifest.json"
ONNX_FORMAT = 1  #: manifest format version, written by the exporter and checked by the runtime

#: synthesizer backends (:func:`tts.runtime.load.load`): "auto" picks ONNX when the voice has an export
BACKENDS = ("auto", "onnx", "torch")
