"""onnxruntime session settings shared by every graph the project runs (torch-free, no project imports).

Why a shared helper: the int8 graphs (the vocoder, :func:`tts.export.onnx.quantize_vocoder`; the
denoiser and VAE decoder, :func:`tts.export.onnx.quantize_static_graph`) multiply uint8 activations
by int8 weights. On x86-64 CPUs with VNNI (``vpdpbusd``) onnxruntime accumulates those
products exactly in 32 bits; on CPUs without it (AVX2-only, e.g. many AMD EPYC, and AVX-512 without
VNNI) its fast u8s8 kernels use ``vpmaddubsw``, which adds two u8·s8 products into a *saturating*
16-bit lane: 2 · 255 · 127 = 64 770 does not fit in 32 767, so large activations clip and the
vocoder's spectrum comes out wrong (measured: a test voice's int8 waveform 7 dB from the fp32 one on
an AVX2 EPYC, against 34 dB on a VNNI Xeon). onnxruntime's ``session.x64quantprecision`` switch
makes it rewrite the int8 weights to uint8 (+128, with the zero point moved to match) at load time
and run its u8u8 kernels, which widen to 16 bits before ``vpmaddwd`` and accumulate exactly. The
switch is set only on CPUs without AVX512-VNNI (:func:`int8_needs_exact_kernels`, from numpy's
CPUID probe): onnxruntime applies it on VNNI CPUs as well, where the u8u8 kernels are slower than
the exact VNNI ones (a sentence 1.3x slower end to end on an AMX Xeon). The result is the same
integer arithmetic on every x86-64 CPU: checked by running the int8 graphs under
``qemu-x86_64 -cpu Haswell`` (AVX2, no VNNI) against the host (``tests/test_onnx_portability.py``).
"""

from __future__ import annotations

from typing import Any

#: onnxruntime config key: exact (u8u8) integer matrix products on x86 CPUs without VNNI
EXACT_INT8_KEY = "session.x64quantprecision"


def int8_needs_exact_kernels() -> bool:
    """True unless the CPU has AVX512-VNNI, whose int8 products onnxruntime computes exactly by
    default. Read with numpy's CPUID probe (so an emulated CPU reports its own features); when the
    probe is unavailable the answer is the safe one, True. Non-x86 CPUs ignore the switch."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # numpy < 2
        try:
            from numpy.core._multiarray_umath import __cpu_features__ as features
        except ImportError:
            return True
    return not features.get("AVX512VNNI", False)


def session_options(intra_op_threads: int = 0, spin: bool = False) -> Any:
    """``onnxruntime.SessionOptions`` for a project graph: ``intra_op_threads`` threads (0:
    onnxruntime's choice), one inter-op thread, spinning off unless ``spin`` (threads that spin while
    waiting take the cores other stages need), and exact int8 products on every x86-64 CPU."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = int(intra_op_threads)
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    if int8_needs_exact_kernels():
        opts.add_session_config_entry(EXACT_INT8_KEY, "1")
    return opts


def cpu_session(path: str, intra_op_threads: int = 0, spin: bool = False) -> Any:
    """An ``onnxruntime.InferenceSession`` on the CPU with :func:`session_options`."""
    import onnxruntime as ort

    return ort.InferenceSession(
        str(path), session_options(intra_op_threads, spin), providers=["CPUExecutionProvider"]
    )
