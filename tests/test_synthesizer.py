"""The ``Synthesizer`` API end to end on a tiny random-weight voice (``tests/tiny_voice.py``)."""

from __future__ import annotations

import json
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
from tiny_voice import SPEAKERS, build_tiny_voice

from tts.audio import load_audio
from tts.models.checkpoint import CheckpointError
from tts.runtime.torch import PAUSE, Audio, Synthesizer

SR, HOP = 22050, 256
SHORT = "Hello there, how are you?"
TWO = "The quick brown fox jumps over the lazy dog. Then it runs away!"
LONG = "A rather long sentence, with several clauses, that keeps going for quite a while before it ends."


@pytest.fixture(scope="module")
def voice_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_voice(tmp_path_factory.mktemp("voice"))


@pytest.fixture(scope="module")
def synth(voice_dir: Path) -> Synthesizer:
    return Synthesizer.from_pretrained(voice_dir, threads=1, precision="fp32")


def test_synthesize_shapes_alignment_and_metadata(synth: Synthesizer) -> None:
    audio = synth.synthesize(SHORT, seed=0)
    assert isinstance(audio, Audio)
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert audio.sample_rate == synth.sample_rate == SR
    assert len(audio.samples) % HOP == 0 and audio.duration > 0.2
    assert np.isfinite(audio.samples).all()
    assert audio.phonemes == synth.phonemize(SHORT).strip()
    assert len(audio.tokens) == len(audio.durations) > 10
    assert (audio.durations > 0).all()
    assert audio.durations.sum() == pytest.approx(audio.duration, abs=1e-4)
    assert synth.speakers == list(SPEAKERS)


def test_seed_makes_output_reproducible(synth: Synthesizer) -> None:
    a = synth.synthesize(SHORT, seed=3)
    b = synth.synthesize(SHORT, seed=3)
    c = synth.synthesize(SHORT, seed=4)
    np.testing.assert_array_equal(a.samples, b.samples)
    assert len(a.samples) == len(c.samples) and not np.allclose(a.samples, c.samples)


def test_length_scale_and_speakers_change_the_output(synth: Synthesizer) -> None:
    normal = synth.synthesize(SHORT, seed=0)
    slow = synth.synthesize(SHORT, seed=0, length_scale=2.0)
    fast = synth.synthesize(SHORT, seed=0, length_scale=0.5)
    assert fast.duration < normal.duration < slow.duration
    assert slow.duration > 1.5 * normal.duration
    other = synth.synthesize(SHORT, seed=0, speaker="bob")
    assert not np.allclose(other.samples[: len(normal.samples)], normal.samples[: len(other.samples)])
    same = synth.synthesize(SHORT, seed=0, speaker=0)  # index and name address the same speaker
    np.testing.assert_array_equal(same.samples, synth.synthesize(SHORT, seed=0, speaker="alice").samples)


def test_sentences_are_joined_with_a_pause(synth: Synthesizer) -> None:
    audio = synth.synthesize(TWO, seed=0)
    assert audio.tokens.count(PAUSE) == 1
    k = audio.tokens.index(PAUSE)
    start = int(round(audio.durations[:k].sum() * SR))
    pause = audio.samples[start : start + int(round(audio.durations[k] * SR))]
    assert len(pause) >= 0.2 * SR and not pause.any()
    assert audio.durations.sum() == pytest.approx(audio.duration, abs=1e-4)


def test_stream_equals_one_shot(synth: Synthesizer) -> None:
    text = f"{LONG} {SHORT}"
    one_shot = synth.synthesize(text, seed=5)
    chunks = list(synth.stream(text, seed=5))
    assert len(chunks) > 3  # the long sentence is vocoded in several windows
    assert len(chunks[0].samples) == synth.chunk_frames * HOP  # the first window comes out on its own
    assert all(c.sample_rate == SR for c in chunks)
    joined = Audio.concatenate(chunks)
    assert len(joined.samples) == len(one_shot.samples)
    # the tiny vocoder's receptive field fits in the context frames, so the seams are exact
    assert np.abs(joined.samples - one_shot.samples).max() < 1e-5
    assert joined.tokens == one_shot.tokens
    np.testing.assert_allclose(joined.durations, one_shot.durations)


def test_stream_keeps_an_integrated_phase_continuous_across_windows(tmp_path: Path) -> None:
    """With a phase-integrating vocoder (phase = "instantaneous") each window's phase is anchored to
    the previous window's, so streaming still equals one-shot synthesis."""
    synth = Synthesizer.from_pretrained(
        build_tiny_voice(tmp_path / "v", vocoder_phase="instantaneous"), threads=1
    )
    one_shot = synth.synthesize(LONG, seed=5)
    chunks = list(synth.stream(LONG, seed=5))
    assert len(chunks) > 2
    joined = Audio.concatenate(chunks)
    assert np.abs(joined.samples - one_shot.samples).max() < 1e-4 * np.abs(one_shot.samples).max()


def test_phase_iterations_from_voice_json_and_streaming_still_equal_one_shot(tmp_path: Path) -> None:
    """``phase_iterations`` in voice.json refines the vocoder's phase; the streaming context grows
    by 3 frames per iteration, so streamed audio still equals one-shot audio."""
    plain = Synthesizer.from_pretrained(build_tiny_voice(tmp_path / "a", vocoder_phase="instantaneous"))
    folder = build_tiny_voice(
        tmp_path / "b", vocoder_phase="instantaneous", voice_json={"phase_iterations": 2}
    )
    synth = Synthesizer.from_pretrained(folder, threads=1)
    assert synth.voice.vocoder.phase_iterations == 2
    assert synth.context_frames == plain.context_frames + 6
    one_shot = synth.synthesize(LONG, seed=5)
    assert len(one_shot.samples) == len(plain.synthesize(LONG, seed=5).samples)
    assert not np.allclose(one_shot.samples, plain.synthesize(LONG, seed=5).samples, atol=1e-4)
    joined = Audio.concatenate(list(synth.stream(LONG, seed=5)))
    # more context does not shrink the difference: it is rounding, amplified where the refinement
    # normalises near-zero bins (measured max 1.1e-4-2.2e-4, rms 1.3e-5 for any extra context)
    diff = np.abs(joined.samples - one_shot.samples)
    assert diff.max() < 1e-3 * np.abs(one_shot.samples).max() and np.sqrt(np.mean(diff**2)) < 1e-4


def test_stream_reports_bad_input_at_call_time(synth: Synthesizer) -> None:
    with pytest.raises(ValueError, match="empty"):
        synth.stream("   ")


def test_batch_matches_single(synth: Synthesizer) -> None:
    texts = [SHORT, LONG, TWO]
    # temperature 0: the starting noise is the only thing a batch draws differently from a lone call
    batch = synth.synthesize_batch(texts, temperature=0.0, batch_size=4)
    assert len(batch) == 3
    for text, got in zip(texts, batch):
        want = synth.synthesize(text, temperature=0.0)
        assert len(got.samples) == len(want.samples)
        assert got.tokens == want.tokens
        # padding changes nothing but the vocoder's view past each sentence's end (its last frames)
        cut = _sentence_tails(want, frames=12)
        assert np.abs(got.samples - want.samples)[cut].max() < 1e-4
        rel = np.linalg.norm(got.samples - want.samples) / np.linalg.norm(want.samples)
        assert rel < 0.2


def _sentence_tails(audio: Audio, frames: int) -> np.ndarray:
    """Mask that is False on the last ``frames`` frames of every sentence."""
    ends = [int(round(audio.durations[:i].sum() * SR)) for i, t in enumerate(audio.tokens) if t == PAUSE]
    keep = np.ones(len(audio.samples), bool)
    for end in [*ends, len(keep)]:
        keep[max(0, end - frames * HOP) : end] = False
    return keep


def test_batch_with_seed_is_reproducible(synth: Synthesizer) -> None:
    a = synth.synthesize_batch([SHORT, TWO], seed=1)
    b = synth.synthesize_batch([SHORT, TWO], seed=1)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.samples, y.samples)


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_save_round_trip(synth: Synthesizer, tmp_path: Path, suffix: str) -> None:
    audio = synth.synthesize(SHORT, seed=0)
    path = audio.save(tmp_path / f"out{suffix}")
    wav, sr = load_audio(path)
    assert sr == SR and len(wav) == len(audio.samples)
    assert np.abs(wav - np.clip(audio.samples, -1, 1)).max() < 1.5 / 32767
    assert [p.name for p in tmp_path.iterdir()] == [f"out{suffix}"]  # no temp files left


def test_to_pcm16() -> None:
    audio = Audio(np.array([0.0, 0.5, -1.0, 2.0], np.float32), SR)
    pcm = np.frombuffer(audio.to_pcm16(), dtype="<i2")
    np.testing.assert_array_equal(pcm, [0, 16384, -32767, 32767])


@pytest.mark.parametrize(
    ("text", "kwargs", "match"),
    [
        ("", {}, "empty"),
        ("  \n\t ", {}, "empty"),
        ("...!?", {}, "nothing pronounceable"),
        (SHORT, {"speaker": "carol"}, "unknown speaker 'carol'; this voice has: alice, bob"),
        (SHORT, {"speaker": 5}, "unknown speaker 5"),
        (SHORT, {"steps": 0}, "steps"),
        (SHORT, {"temperature": -1.0}, "temperature"),
        (SHORT, {"length_scale": 0.0}, "length_scale"),
        (SHORT, {"sampler": "ddim"}, "unknown sampler"),
    ],
)
def test_bad_input_is_a_clear_value_error(synth: Synthesizer, text: str, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        synth.synthesize(text, **kwargs)


def test_synthesis_options_are_taken_by_name_and_unknown_names_refused(synth: Synthesizer) -> None:
    """synthesize, stream and synthesize_batch share one set of options (SynthesisKwargs): each is
    accepted by name, speaker also by position, and a misspelt name is a TypeError naming it."""
    from tts.runtime.base import SYNTHESIS_KWARGS

    assert SYNTHESIS_KWARGS == ("steps", "temperature", "length_scale", "seed", "sampler", "guidance")
    opts = dict(steps=3, temperature=0.5, length_scale=1.2, seed=1, sampler="euler", guidance=0.0)
    one = synth.synthesize(SHORT, "bob", **opts)
    np.testing.assert_array_equal(one.samples, synth.synthesize(SHORT, speaker="bob", **opts).samples)
    streamed = np.concatenate([c.samples for c in synth.stream(SHORT, "bob", **opts)])
    assert len(streamed) == len(one.samples)
    (batched,) = synth.synthesize_batch([SHORT], "bob", batch_size=1, **opts)
    assert len(batched.samples) == len(one.samples)
    for call in (synth.synthesize, synth.stream, synth.synthesize_batch):
        text = [SHORT] if call == synth.synthesize_batch else SHORT
        message = rf"{call.__name__}\(\) got an unexpected keyword argument 'step' \(did you mean 'steps'\?\)"
        with pytest.raises(TypeError, match=message):
            call(text, step=4)
    with pytest.raises(TypeError, match="'voice'; the synthesis options are steps, temperature"):
        synth.synthesize(SHORT, voice="bob")
    with pytest.raises(TypeError):
        synth.synthesize(SHORT, "bob", 4)  # type: ignore[misc]  # options are keyword-only


def test_sampler_names_match_the_samplers() -> None:
    from tts.core.samplers import SAMPLERS as IMPLEMENTED
    from tts.core.voice import SAMPLERS

    assert set(SAMPLERS) == set(IMPLEMENTED)


def test_too_long_text_is_refused(voice_dir: Path) -> None:
    synth = Synthesizer.from_pretrained(voice_dir, max_chars=20)
    with pytest.raises(ValueError, match="too long"):
        synth.synthesize("This sentence is longer than twenty characters.")
    with pytest.raises(ValueError, match=r"texts\[1\]: text is empty"):
        synth.synthesize_batch(["Hi.", ""])


def test_concurrent_calls_are_safe(synth: Synthesizer) -> None:
    want = {t: synth.synthesize(t, seed=9).samples for t in (SHORT, TWO)}
    got: dict[str, list[np.ndarray]] = {SHORT: [], TWO: []}
    errors: list[BaseException] = []

    def work(text: str) -> None:
        try:
            for _ in range(2):
                got[text].append(synth.synthesize(text, seed=9).samples)
        except BaseException as e:  # surfaced below: a thread's exception would otherwise vanish
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in (SHORT, TWO)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for text, outs in got.items():
        assert len(outs) == 2
        for out in outs:
            np.testing.assert_array_equal(out, want[text])


# ----------------------------------------------------------------------------------- loading


def test_voice_dir_from_environment(voice_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTS_VOICE_DIR", str(voice_dir))
    synth = Synthesizer.from_pretrained()
    assert synth.voice.folder == voice_dir and synth.voice.config.name == "tiny"


def test_acoustic_file_path_is_accepted(voice_dir: Path) -> None:
    synth = Synthesizer.from_pretrained(voice_dir / "acoustic.safetensors")
    assert synth.voice.folder == voice_dir


def test_missing_default_voice_says_how_to_get_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTS_VOICE_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="no voice installed yet.*train one"):
        Synthesizer.from_pretrained()
    with pytest.raises(FileNotFoundError, match="not found"):
        Synthesizer.from_pretrained(tmp_path / "nowhere")


def test_missing_vocoder_falls_back_to_griffin_lim(tmp_path: Path) -> None:
    folder = build_tiny_voice(tmp_path / "v", vocoder=False)
    with pytest.warns(UserWarning, match="Griffin-Lim"):
        synth = Synthesizer.from_pretrained(folder)
    assert synth.voice.vocoder_name == "griffin-lim"
    audio = synth.synthesize("Hi.", seed=0)
    assert len(audio.samples) % HOP == 0 and np.isfinite(audio.samples).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # asked for explicitly: no warning
        Synthesizer.from_pretrained(folder, vocoder="griffin-lim")


def test_onnx_vocoder_matches_pytorch(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    folder = build_tiny_voice(tmp_path / "v", onnx=True)
    eager = Synthesizer.from_pretrained(folder, precision="fp32").synthesize(SHORT, seed=0)
    synth = Synthesizer.from_pretrained(folder, vocoder="onnx", precision="fp32")
    assert synth.voice.vocoder_name.endswith("vocoder.onnx")
    got = synth.synthesize(SHORT, seed=0)
    assert np.abs(got.samples - eager.samples).max() < 1e-4
    (folder / "vocoder.onnx").unlink()
    with pytest.raises(CheckpointError, match="export-onnx"):
        Synthesizer.from_pretrained(folder, vocoder="onnx")


def test_onnx_phase_integrating_vocoder_streams_whole_sentences(tmp_path: Path) -> None:
    """An exported phase-integrating vocoder cannot carry its phase between windows, so streaming
    vocodes each sentence in one piece: the audio still equals one-shot synthesis."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    folder = build_tiny_voice(tmp_path / "v", onnx=True, vocoder_phase="instantaneous")
    synth = Synthesizer.from_pretrained(folder, vocoder="onnx", precision="fp32")
    assert synth.voice.vocoder.integrates_phase
    eager = Synthesizer.from_pretrained(folder, precision="fp32").synthesize(LONG, seed=5)
    chunks = list(synth.stream(LONG, seed=5))
    assert len(chunks) == 1
    assert np.abs(Audio.concatenate(chunks).samples - eager.samples).max() < 1e-3  # the ONNX tolerance


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"vae_latent_channels": 3}, "latent channels 4 vs 3"),
        ({"vocoder_sample_rate": 16000}, "sample_rate"),
    ],
)
def test_mismatched_parts_are_refused(tmp_path: Path, change: dict, match: str) -> None:
    folder = build_tiny_voice(tmp_path / "v", **change)
    with pytest.raises(CheckpointError, match=match):
        Synthesizer.from_pretrained(folder)


def test_replaced_vae_is_refused(tmp_path: Path, voice_dir: Path) -> None:
    folder = build_tiny_voice(tmp_path / "v", seed=1)
    (folder / "vae.safetensors").write_bytes((voice_dir / "vae.safetensors").read_bytes())
    with pytest.raises(CheckpointError, match="another VAE"):
        Synthesizer.from_pretrained(folder)


def test_a_vae_with_a_fine_tuned_decoder_keeps_its_acoustic_model(tmp_path: Path) -> None:
    """A VAE file that names the original's hash as its latent space is accepted (decoder-only
    fine-tuning keeps the encoder, so the acoustic model's latents still fit)."""
    from tts.core.files import file_sha256
    from tts.models.checkpoint import load_weights, save_weights

    folder = build_tiny_voice(tmp_path / "v")
    vae = folder / "vae.safetensors"
    tensors, config, meta = load_weights(vae, "vae")
    key = next(k for k in tensors if k.startswith("decoder") and k.endswith("weight"))
    tensors[key] = tensors[key] * 1.01
    original = file_sha256(vae)
    save_weights(vae, tensors, "vae", config, meta)
    with pytest.raises(CheckpointError, match="another VAE"):
        Synthesizer.from_pretrained(folder)
    save_weights(vae, tensors, "vae", config, {**meta, "latent_space_sha256": original})
    assert Synthesizer.from_pretrained(folder, threads=1).synthesize(SHORT, seed=0).duration > 0


def test_corrupt_parts_are_refused(tmp_path: Path, voice_dir: Path) -> None:
    folder = build_tiny_voice(tmp_path / "v")
    data = (folder / "acoustic.safetensors").read_bytes()
    (folder / "acoustic.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="acoustic.safetensors"):
        Synthesizer.from_pretrained(folder)
    (folder / "voice.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(CheckpointError, match="voice.json"):
        Synthesizer.from_pretrained(folder)
    (folder / "voice.json").write_text(json.dumps({"stepz": 3}), encoding="utf-8")
    with pytest.raises(CheckpointError, match="stepz"):
        Synthesizer.from_pretrained(folder)


PRETRAINED = Path(__file__).resolve().parent.parent / "pretrained"


@pytest.mark.skipif(not (PRETRAINED / "acoustic.safetensors").is_file(), reason="no shipped voice yet")
def test_shipped_default_voice_speaks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TTS_VOICE_DIR", raising=False)
    synth = Synthesizer.from_pretrained(threads=1)
    audio = synth.synthesize("Hello world.", seed=0)
    assert 0.3 < audio.duration < 5.0
    assert np.isfinite(audio.samples).all() and np.abs(audio.samples).max() > 0.01


def test_voice_json_duration_rounding_sets_the_default(tmp_path: Path) -> None:
    """``duration_rounding = "round"`` in voice.json: no duration rounds up, so speech is never
    longer than with the model's "ceil", and the per-token frame counts differ by at most one."""
    from tts.core.voice import VoiceConfig

    ceil = Synthesizer.from_pretrained(build_tiny_voice(tmp_path / "c"), threads=1)
    rnd = Synthesizer.from_pretrained(
        build_tiny_voice(tmp_path / "r", voice_json={"duration_rounding": "round"}), threads=1
    )
    assert ceil.voice.config.duration_rounding == "ceil" and rnd.voice.config.duration_rounding == "round"
    a, b = ceil.synthesize(LONG, seed=0), rnd.synthesize(LONG, seed=0)
    frames_a = np.round(a.durations * SR / HOP).astype(int)
    frames_b = np.round(b.durations * SR / HOP).astype(int)
    assert b.duration < a.duration
    assert ((frames_a - frames_b) >= 0).all() and ((frames_a - frames_b) <= 2).all()
    with pytest.raises(ValueError, match="duration_rounding"):
        VoiceConfig(duration_rounding="floor")


def test_bf16_precision_stays_close_to_fp32(voice_dir: Path) -> None:
    fp32 = Synthesizer.from_pretrained(voice_dir, threads=1, precision="fp32")
    bf16 = Synthesizer.from_pretrained(voice_dir, threads=1, precision="bf16")
    assert (fp32.voice.precision, bf16.voice.precision) == ("fp32", "bf16")
    a, b = fp32.synthesize(SHORT, seed=0), bf16.synthesize(SHORT, seed=0)
    assert len(a.samples) == len(b.samples)
    np.testing.assert_array_equal(a.durations, b.durations)  # the acoustic model is not touched
    # the waveform moves a little, its spectrum hardly: compare log-magnitude STFTs
    spec = [
        np.log(
            np.abs(np.fft.rfft(x.samples[: len(x.samples) // 1024 * 1024].reshape(-1, 1024), axis=1)) + 1e-3
        )
        for x in (a, b)
    ]
    assert np.abs(spec[0] - spec[1]).mean() < 0.1
    with pytest.raises(ValueError, match="precision"):
        Synthesizer.from_pretrained(voice_dir, precision="fp8")


def test_stream_context_defaults_to_the_vocoders_receptive_field(synth: Synthesizer) -> None:
    assert synth.context_frames == synth.voice.vocoder.context_frames
    assert Synthesizer(synth.voice, context_frames=5).context_frames == 5


def test_assemble_writes_the_sampling_defaults(voice_dir: Path, tmp_path: Path) -> None:
    from tts.cli.voice import main as voice_main

    out = tmp_path / "assembled"
    args = ["assemble", "--out", str(out), "--acoustic", str(voice_dir / "acoustic.safetensors")]
    args += ["--vae", str(voice_dir / "vae.safetensors"), "--vocoder", str(voice_dir / "vocoder.safetensors")]
    args += ["--speaker", SPEAKERS[1], "--steps", "3", "--guidance", "0.5", "--temperature", "0.5"]
    assert voice_main(args) == 0
    cfg = json.loads((out / "voice.json").read_text())
    assert (cfg["speaker"], cfg["steps"], cfg["guidance"], cfg["temperature"]) == (SPEAKERS[1], 3, 0.5, 0.5)
    synth = Synthesizer.from_pretrained(out, threads=1, precision="fp32")
    assert synth.voice.config.guidance == 0.5
    assert synth.synthesize(SHORT, seed=0).duration > 0


@pytest.mark.parametrize("guidance", [0.0, 0.7])
def test_two_threads_split_the_denoiser_and_match_one_thread(voice_dir: Path, guidance: float) -> None:
    """With two threads the acoustic stage runs on one thread with the denoiser's batch as two
    halves side by side (``Synthesizer._run_halves``); the audio equals the one-thread run's to float
    rounding, and the thread count is back at two for the vocoder and afterwards."""
    import torch

    prev = torch.get_num_threads()
    try:
        one = Synthesizer.from_pretrained(voice_dir, threads=1, precision="fp32")
        texts = [SHORT, TWO]
        ref = one.synthesize_batch(texts, seed=1, guidance=guidance)
        two = Synthesizer.from_pretrained(voice_dir, threads=2, precision="fp32")
        seen: list[tuple[int, int]] = []
        net = two.voice.acoustic.decoder.net
        forward = net.forward

        def spy(x, *args, **kwargs):  # batch size and intra-op threads of each denoiser call
            seen.append((x.shape[0], torch.get_num_threads()))
            return forward(x, *args, **kwargs)

        net.forward = spy
        vocoder_threads = []
        vocode = two._vocode
        two._vocode = lambda *a: vocoder_threads.append(torch.get_num_threads()) or vocode(*a)
        got = two.synthesize_batch(texts, seed=1, guidance=guidance)
        for a, b in zip(ref, got):
            np.testing.assert_allclose(a.samples, b.samples, atol=1e-5)
        n = 3 * (2 if guidance else 1)  # items per denoiser step: 3 sentences (x 2 when guided)
        sizes = [b for b, _ in seen]
        assert sum(sizes) % n == 0 and max(sizes) == (n + 1) // 2 and min(sizes) == n // 2
        assert {t for _, t in seen} == {1}
        assert vocoder_threads and set(vocoder_threads) == {2} and torch.get_num_threads() == 2
        single = two.synthesize(SHORT, seed=1, guidance=0.0)  # one item: nothing to split
        np.testing.assert_allclose(
            single.samples, one.synthesize(SHORT, seed=1, guidance=0.0).samples, atol=1e-5
        )
    finally:
        torch.set_num_threads(prev)
