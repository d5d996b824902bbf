#!/usr/bin/env bash
# Issue 11's GPU figures in one device call, each step's output kept under the output folder:
# every kernel against its float64 reference (check-ops), kernel and training-step speed of the
# post's model (f32 and mixed), the per-op profile of one step in each precision, both PyTorch
# fixtures through the engine, PyTorch's own anchors on the same GPU, and the fixture generator's check.
#
# Prepare on the CPU machine, then run on the device (see ../shared/gpu/README.md):
#   node scripts/build-cli.mjs && bash ../shared/gpu/pack.sh dist/cli.mjs ../shared/gpu/pytorch_reference.py
#   device run, carry [".gpu-pack"]: bash .gpu-pack/on-device.sh bash scripts/gpu-check.sh "$OUT"
# Locally on SwiftShader, to try the script itself: GPU_CHECK_SMALL=1 bash scripts/gpu-check.sh /tmp/gpu-check
set -uo pipefail
out=${1:?usage: gpu-check.sh OUTPUT_FOLDER}
mkdir -p "$out"
cli=.gpu-pack/extra/cli.mjs
[ -f "$cli" ] || cli=dist/cli.mjs
reference=.gpu-pack/extra/pytorch_reference.py
[ -f "$reference" ] || reference=../shared/gpu/pytorch_reference.py
# The post's model (8 layers, 8 heads, 512 wide, 50,304 tokens, block 1024, batch 16 as 2 × 8);
# GPU_CHECK_SMALL swaps in a model SwiftShader times in seconds.
if [ -n "${GPU_CHECK_SMALL:-}" ]; then
  model=(--layers 1 --heads 2 --width 32 --vocab 300 --block 16 --batch 2 --accum 1 --steps 2 --matmul 64)
else
  model=(--layers 8 --heads 8 --width 512 --vocab 50304 --block 1024 --batch 8 --accum 2 --steps 10)
fi

# Runs one named step with a time limit; its output goes to NAME.txt and its tail to the console.
# GPU_CHECK_STEPS="check-ops bench-mixed ..." runs only those (a device call is limited to 600 s:
# split the steps over two calls when the whole script would run longer).
step() {
  local name=$1 limit=$2
  shift 2
  if [ -n "${GPU_CHECK_STEPS:-}" ] && [[ " $GPU_CHECK_STEPS " != *" $name "* ]]; then return 0; fi
  echo "== $name: $*"
  timeout "$limit" "$@" >"$out/$name.txt" 2>&1
  echo "exit $?" >>"$out/$name.txt"
  tail -n 25 "$out/$name.txt"
}

command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >"$out/gpu.txt"
# First, so a kernel that is wrong on this GPU is known before its speed is.
step check-ops 240 node "$cli" check-ops --out "$out/check-ops.json"
# The same matmuls with tensor cores left unused: half products then take the tiled kernel's f16 path.
step check-ops-no-tc 240 env GPT_GARDEN_WITHOUT=chromium-experimental-subgroup-matrix node "$cli" check-ops --only matmul --out "$out/check-ops-no-tc.json"
step bench-f32 240 node "$cli" bench "${model[@]}" --precision f32 --out "$out/bench-f32.json"
step bench-mixed 240 node "$cli" bench "${model[@]}" --precision mixed --out "$out/bench-mixed.json"
step profile-f32 240 node "$cli" bench "${model[@]}" --precision f32 --profile --out "$out/profile-f32.json"
step profile-mixed 240 node "$cli" bench "${model[@]}" --precision mixed --profile --out "$out/profile-mixed.json"
for fixture in tests/fixtures/gpt-tiny.safetensors tests/fixtures/gpt-mid.safetensors; do
  step "fixture-$(basename "$fixture" .safetensors)" 120 node "$cli" check-fixture "$fixture"
done
if python3 -c 'import torch' 2>/dev/null; then
  step make-fixtures-check 240 python3 scripts/fixtures/make_fixtures.py check tests/fixtures/gpt-tiny.safetensors tests/fixtures/gpt-mid.safetensors
  [ -z "${GPU_CHECK_SMALL:-}" ] && step pytorch-reference 300 python3 "$reference"
else
  echo "== no PyTorch here: the fixture generator's check and PyTorch's anchors are skipped" | tee "$out/pytorch-skipped.txt"
fi
echo "== results in $out"
