"""tts-synth — speak text with a trained voice.

    tts-synth "Hello world." -o hello.wav
    tts-synth --file lines.txt -o outdir          one utterance per line: outdir/0001.wav, 0002.wav, …
    echo "Hello." | tts-synth -o hello.wav        text from stdin (also: TEXT = "-")
    tts-synth "A long text…" --raw | aplay -r 22050 -f S16_LE -c 1     16-bit PCM streamed to stdout
    tts-synth "Hello." --phonemes                 print the IPA the model reads (needs no weights)
    tts-synth --list-speakers
    tts-synth "Hi." -o hi.wav --timestamps hi.json   word timings (.json, .srt or .vtt)
    tts-synth '<speak>Wait <break time="500ms"/> now.</speak>' -o w.wav    SSML (or --ssml)
    tts-synth "Nguyen" --lexicon names.tsv --phonemes   WORD<TAB>IPA or WORD<TAB>respelling
    tts-synth "Hi." --speaker "af_heart:0.7,bf_emma:0.3" -o mix.wav        a blend of two speakers

--speed is the inverse of the length scale: --speed 1.25 speaks 25 % faster (length scale 0.8).
Exit status: 0 done, 2 bad input (text, speaker, files, checkpoint), 1 unexpected failure.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from collections.abc import Callable

    from tts.runtime.base import SynthesizerBase

PROG = "tts-synth"
FORMATS = ("wav", "flac")


class UsageError(Exception):
    """Bad input from the user: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line instead of usage + message
        self.exit(2, f"{PROG}: error: {message} (see {PROG} --help)\n")


def _positive_int(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {s!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def _float_at_least(low: float, strict: bool) -> Callable[[str], float]:
    def parse(s: str) -> float:
        try:
            v = float(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {s!r}") from None
        if not (v > low if strict else v >= low) or v != v or v == float("inf"):
            raise argparse.ArgumentTypeError(f"must be {'>' if strict else '>='} {low:g}, got {s}")
        return v

    return parse


def build_parser() -> argparse.ArgumentParser:
    from tts import __version__
    from tts.core.names import BACKENDS, PRECISIONS, SAMPLERS  # torch-free

    p = _Parser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("text", nargs="?", help='text to speak; "-" or omitted with piped stdin: read stdin')
    p.add_argument(
        "-o", "--output", help="output file (default out.wav), or folder with --file (default out/)"
    )
    p.add_argument(
        "-f", "--file", help="text file, one utterance per line (blank lines skipped); '-' = stdin"
    )
    p.add_argument("--format", choices=FORMATS, help="audio format (default: from the output suffix)")
    p.add_argument("--raw", action="store_true", help="stream 16-bit mono PCM to stdout as it is produced")
    p.add_argument("--phonemes", action="store_true", help="print the phonemes and exit (no model needed)")
    p.add_argument("--list-speakers", action="store_true", help="print the voice's speakers and exit")
    t = p.add_argument_group("text control (docs/text-control.md)")
    t.add_argument(
        "--timestamps",
        metavar="FILE",
        help="write word timings: .json (word, start, end, char_start, char_end), .srt or .vtt",
    )
    t.add_argument(
        "--ssml", action="store_true", help="read the text as SSML (automatic when it starts <speak)"
    )
    t.add_argument(
        "--lexicon", metavar="FILE", help="pronunciations, one WORD<TAB>IPA or WORD<TAB>respelling per line"
    )
    g = p.add_argument_group("voice and sampling")
    g.add_argument(
        "--voice",
        "--checkpoint",
        dest="voice",
        metavar="DIR",
        help="voice folder or its acoustic.safetensors (default: pretrained/ or $TTS_VOICE_DIR)",
    )
    g.add_argument("--vocoder", metavar="V", help="default | griffin-lim | onnx | PATH to a vocoder file")
    g.add_argument(
        "-s",
        "--speaker",
        help='speaker name or index (see --list-speakers), or a blend: "af_heart:0.7,bf_emma:0.3"',
    )
    g.add_argument("--steps", type=_positive_int, help="ODE steps of the diffusion decoder (voice default)")
    g.add_argument("--temperature", type=_float_at_least(0, False), help="noise scale (voice default)")
    g.add_argument("--sampler", choices=SAMPLERS, help="ODE sampler (voice default)")
    g.add_argument(
        "--guidance",
        type=_float_at_least(0, False),
        help="classifier-free guidance weight; 0 = off, faster (voice default)",
    )
    g.add_argument(
        "--speed",
        type=_float_at_least(0, True),
        default=1.0,
        help="speaking rate; 1.25 = 25%% faster (length scale 1/speed)",
    )
    g.add_argument("--seed", type=int, help="random seed: same seed, same audio")
    g.add_argument(
        "--phase-iterations",
        type=int,
        help="phase refinement steps after the vocoder; 0 = off, faster (voice default)",
    )
    r = p.add_argument_group("runtime")
    r.add_argument(
        "--backend",
        choices=BACKENDS,
        default="auto",
        help="onnx: onnxruntime, no torch (fast start; needs the voice's onnx/ export); torch: PyTorch; "
        "auto: onnx when the voice has an export and no torch-only option is set (default: auto)",
    )
    r.add_argument("--device", default="cpu", help="torch device (default cpu)")
    r.add_argument("--threads", type=_positive_int, help="torch CPU threads (default: torch's choice)")
    r.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="bf16 matrix multiplies in VAE and vocoder; auto = bf16 on CPUs with AMX (default: auto)",
    )
    r.add_argument("--batch-size", type=_positive_int, default=8, help="sentences per batch with --file")
    r.add_argument("-v", "--verbose", action="store_true", help="print load and synthesis details")
    r.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    r.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    return p


# ---------------------------------------------------------------------------------------------
# Input and output checks (cheap, before any model is loaded)
# ---------------------------------------------------------------------------------------------


def read_texts(args: argparse.Namespace) -> list[tuple[int, str]]:
    """The utterances to speak with their line numbers: TEXT, stdin, or the non-blank lines of --file."""
    if args.file is not None:
        if args.text is not None:
            raise UsageError("give either TEXT or --file, not both")
        try:
            raw = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise UsageError(f"cannot read --file {args.file}: {getattr(e, 'strerror', None) or e}") from e
        lines = [(n, ln.strip()) for n, ln in enumerate(raw.splitlines(), 1) if ln.strip()]
        if not lines:
            raise UsageError(f"--file {args.file} has no text")
        return lines
    if args.text == "-" or (args.text is None and sys.stdin is not None and not sys.stdin.isatty()):
        try:
            text = sys.stdin.read()
        except (OSError, UnicodeDecodeError) as e:
            raise UsageError(f"cannot read text from stdin: {e}") from e
    elif args.text is None:
        raise UsageError("no text given: pass TEXT, --file FILE, or pipe text to stdin")
    else:
        text = args.text
    if not text.strip():
        raise UsageError("text is empty")
    return [(1, text)]


def _check_writable_dir(d: Path) -> None:
    existing = d
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"output directory {d} cannot be created: {existing} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"output directory {existing} is not writable")


def output_file(args: argparse.Namespace) -> Path:
    """The single output file, with its format settled and its folder checked."""
    out = Path(args.output or "out.wav").expanduser()
    if out.is_dir():
        raise UsageError(f"output {out} is a directory")
    suffix = out.suffix.lower().lstrip(".")
    if args.format and not suffix:
        out = out.with_name(f"{out.name}.{args.format}")
    elif args.format and suffix != args.format:
        raise UsageError(f"output {out} does not end in .{args.format} (--format {args.format})")
    elif suffix not in FORMATS:
        raise UsageError(f"cannot tell the audio format of {out}: name it .wav or .flac, or pass --format")
    parent = out.parent
    if not parent.is_dir():
        raise UsageError(f"output directory does not exist: {parent}")
    if not os.access(parent, os.W_OK | os.X_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise UsageError(f"output {out} is not writable")
    return out


def output_dir(args: argparse.Namespace) -> Path:
    out = Path(args.output or "out").expanduser()
    if out.exists() and not out.is_dir():
        raise UsageError(f"--file writes numbered files into a folder, but {out} is a file")
    _check_writable_dir(out)
    return out


# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------


def print_phonemes(args: argparse.Namespace, texts: list[tuple[int, str]]) -> int:
    """The IPA the model reads, lexicons and SSML applied (``SynthesizerBase.phonemize``'s text
    path, without loading a model)."""
    from tts.core.voice import default_voice_dir, load_voice_config
    from tts.text.frontend import analyse, load_lexicons
    from tts.text.ssml import runs_of

    folder = Path(args.voice).expanduser() if args.voice else default_voice_dir()
    folder = folder.parent if folder.is_file() else folder
    cfg = load_voice_config(folder)
    lexicon = load_lexicons(folder, args.lexicon)

    def language_of(run_speaker: str | None) -> str:  # voice.json "languages", by speaker name
        name = str((args.speaker or cfg.speaker) if run_speaker is None else run_speaker)
        if ":" in name:  # a blend reads as its heaviest part
            parts = [p.rpartition(":") for p in name.split(",")]
            name = max(parts, key=lambda p: float(p[2]) if p[2].replace(".", "", 1).isdigit() else 0.0)[0]
        return cfg.languages.get(name.strip(), cfg.language)

    for _, text in texts:
        utterances = analyse(
            runs_of(text, args.ssml or None), cfg.language, lexicon, input_text=text, language_of=language_of
        )
        if not utterances:
            raise UsageError(f"nothing pronounceable in {text[:60]!r}")
        print(" ".join(u.phonemes for u in utterances), flush=True)
    return 0


def load_synthesizer(args: argparse.Namespace) -> SynthesizerBase:
    """The synthesizer the arguments ask for (:func:`tts.runtime.load.load`: ``--backend auto`` takes
    the voice's ONNX export unless a torch-only option is given)."""
    kwargs: dict = {"max_chars": None} if args.raw else {}  # streaming holds one sentence at a time
    if args.lexicon:
        kwargs["lexicon"] = args.lexicon
    if args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise UsageError(f"--device {args.device}: no CUDA device available")
    from tts.runtime.load import load, torch_only

    if args.backend == "onnx" and torch_only(args.device, args.vocoder, args.precision):
        bad = [f"--device {args.device}"] if args.device != "cpu" else []
        bad += [f"--vocoder {args.vocoder}"] if args.vocoder not in (None, "default") else []
        bad += ["--precision bf16"] if args.precision == "bf16" else []
        raise UsageError(
            f"--backend onnx runs on the CPU in fp32 with the voice's own vocoder: drop {', '.join(bad)}"
        )
    try:
        return load(
            args.voice,
            args.backend,
            threads=args.threads,
            device=args.device,
            vocoder=args.vocoder,
            precision=args.precision,
            phase_iterations=_phase_iterations(args),
            **kwargs,
        )
    except FileNotFoundError as e:  # no voice installed / folder missing / no export for --backend onnx
        raise UsageError(str(e)) from e


def speak_one(
    synth: SynthesizerBase, out: Path, text: str, opts: dict, timestamps: Path | None
) -> tuple[str, float]:
    audio = synth.synthesize(text, **opts)
    audio.save(out)
    if timestamps is not None:
        from tts.core.timestamps import write_timestamps

        write_timestamps(timestamps, audio.words)
    return str(out), audio.duration


def speak_file(
    args: argparse.Namespace, synth: SynthesizerBase, out: Path, texts: list[tuple[int, str]], opts: dict
) -> tuple[str, float]:
    """Numbered files; with ``--timestamps .json|.srt|.vtt`` a timings file beside each (0001.json)."""
    timestamps = _timestamps_suffix(args.timestamps) if args.timestamps else None
    from tqdm import tqdm

    prepared = []
    for line, text in texts:  # check every line before writing anything
        try:
            prepared.append(synth.prepare(text, ssml=opts.get("ssml"), speaker=opts.get("speaker")))
        except ValueError as e:
            raise UsageError(f"--file {args.file}, line {line}: {e}") from e
    out.mkdir(parents=True, exist_ok=True)
    ext = args.format or "wav"
    width = max(4, len(str(len(texts))))
    seconds = 0.0
    with tqdm(total=len(texts), unit="utt", disable=args.quiet, file=sys.stderr, desc=PROG) as bar:
        for start in range(0, len(prepared), args.batch_size):
            group = prepared[start : start + args.batch_size]
            for k, audio in enumerate(synth.synthesize_batch(group, batch_size=args.batch_size, **opts)):
                if timestamps is not None:
                    from tts.core.timestamps import write_timestamps

                    write_timestamps(out / f"{start + k + 1:0{width}d}{timestamps}", audio.words)
                audio.save(out / f"{start + k + 1:0{width}d}.{ext}")
                seconds += audio.duration
            bar.update(len(group))
    return f"{len(texts)} files in {out}/", seconds


def speak_raw(
    synth: SynthesizerBase, text: str, opts: dict, t0: float, log: logging.Logger
) -> tuple[str, float]:
    if sys.stdout.isatty():
        raise UsageError("--raw writes binary audio; redirect stdout to a file or a player")
    sink = sys.stdout.buffer
    samples = 0
    for chunk in synth.stream(text, **opts):
        if samples == 0:
            log.info("first audio after %.3f s", time.perf_counter() - t0)
        sink.write(chunk.to_pcm16())
        sink.flush()
        samples += len(chunk.samples)
    return f"<stdout> ({synth.sample_rate} Hz 16-bit mono PCM)", samples / synth.sample_rate


def run(args: argparse.Namespace, log: logging.Logger) -> int:
    texts = [] if args.list_speakers else read_texts(args)
    if args.phonemes:
        return print_phonemes(args, texts)
    if args.raw and args.file is not None:
        raise UsageError("--raw streams one text; it cannot be combined with --file")
    timestamps = None
    if args.timestamps:
        if args.raw:
            raise UsageError("--timestamps needs an output file, not --raw")
        _timestamps_suffix(args.timestamps)
        if args.file is None:
            timestamps = Path(args.timestamps).expanduser()
            if not timestamps.parent.is_dir() or not os.access(timestamps.parent, os.W_OK):
                raise UsageError(f"--timestamps {timestamps}: its folder does not exist or is not writable")
    if args.lexicon:
        from tts.text.pronunciations import Lexicon

        Lexicon.load(args.lexicon)  # a bad line fails before any model loads
    out = None  # settled before loading anything, so a bad output path fails fast
    if not (args.raw or args.list_speakers):
        out = output_dir(args) if args.file is not None else output_file(args)
    t0 = time.perf_counter()
    if not args.list_speakers:  # the phase refinement's FFT import overlaps the loading
        from tts.core.spectral import import_fft_in_background

        import_fft_in_background()
    synth = load_synthesizer(args)
    log.info(
        "loaded voice %s (%s, %s backend, vocoder %s, %s) in %.2f s",
        synth.voice.config.name,
        synth.voice.folder,
        synth.backend,
        synth.voice.vocoder_name,
        synth.voice.precision,
        time.perf_counter() - t0,
    )
    if args.list_speakers:
        for name in synth.speakers or [synth.voice.config.name]:
            print(name)
        return 0
    from tts.text.frontend import speaker_arg

    opts = dict(
        ssml=True if args.ssml else None,
        speaker=speaker_arg(args.speaker),
        steps=args.steps,
        temperature=args.temperature,
        length_scale=1.0 / args.speed,
        seed=args.seed,
        sampler=args.sampler,
        guidance=args.guidance,
    )
    t1 = time.perf_counter()
    if out is None:
        where, seconds = speak_raw(synth, texts[0][1], opts, t1, log)
    elif args.file is not None:
        where, seconds = speak_file(args, synth, out, texts, opts)
    else:
        where, seconds = speak_one(synth, out, texts[0][1], opts, timestamps)
    elapsed = time.perf_counter() - t1
    if not args.quiet:
        rtf = elapsed / seconds if seconds > 0 else float("nan")
        print(
            f"wrote {where}: {seconds:.2f} s of audio in {elapsed:.2f} s (RTF {rtf:.3f})",
            file=sys.stderr if args.raw else sys.stdout,
        )
    return 0


def _phase_iterations(args: argparse.Namespace) -> int | None:
    p = args.phase_iterations
    if p is not None and p < 0:
        raise UsageError(f"--phase-iterations must be >= 0, got {p}")
    return p


def _timestamps_suffix(path: str) -> str:
    from tts.core.timestamps import TIMESTAMP_FORMATS

    suffix = Path(path).suffix.lower()
    if suffix not in TIMESTAMP_FORMATS:
        raise UsageError(f"--timestamps {path}: name it .json, .srt or .vtt")
    return suffix


def _one_line(msg: str) -> str:
    return " ".join(str(msg).split())


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # OpenMP threads that spin while they wait take the CPU the other threads need whenever the
    # machine has other work: on a busy 2-core machine synthesis ran 10x slower (docs/usage.md).
    # Must be set before torch loads libgomp; an explicit setting wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    level = logging.ERROR if args.quiet else logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(level=level, format=f"{PROG}: %(levelname)s: %(message)s", stream=sys.stderr)
    log = logging.getLogger(PROG)

    def show_warning(message: Warning | str, *_: object, **__: object) -> None:
        if not args.quiet:
            print(f"{PROG}: warning: {_one_line(str(message))}", file=sys.stderr)

    try:
        with warnings.catch_warnings():  # restores the global hook afterwards (main() may run in-process)
            warnings.showwarning = show_warning
            return run(args, log)
    except BrokenPipeError:  # e.g. `tts-synth --raw … | head -c 1000`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (UsageError, ValueError) as e:  # CheckpointError is a ValueError
        if args.verbose:
            log.exception("details")
        print(f"{PROG}: error: {_one_line(str(e))}", file=sys.stderr)
        return 2
    except OSError as e:  # writing the output failed after the checks (disk full, permissions …)
        print(f"{PROG}: error: {_one_line(str(e))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
