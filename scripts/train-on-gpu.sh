#!/usr/bin/env bash
# On a GPU machine that has PyTorch (its LibTorch) but no Debian libraries: builds
# flowdesign-train against that LibTorch and the copies in .gpu/ (scripts/prepare-gpu-headers.sh),
# generates the data from RECIPE, then trains CONFIG (optionally fine-tuning INIT_MODEL) on CUDA
# into OUT_DIR until SECONDS_BUDGET seconds after the script started. OUT_DIR keeps checkpoint.fdm,
# so the same command resumes; copy it back and resume on the CPU the same way.
# CONFIG may be a folder: then every CONFIG/NAME.json trains at the same time, on the same GPU,
# into OUT_DIR/NAME (a sweep: six runs on one H200 made 4.3 steps/s each, 26 in all against 30 for
# one run alone, so a sweep buys comparisons at equal steps, not throughput).
# A sweep's configs may also say "device": "cpu" and "threads": 1: the lent box's 16 cores then
# run up to 15 CPU runs at once (pushforward runs ~3 steps/s each there).
# One config with "device": "cpu" and "threads": 0 runs an unrolled-loss fine-tune on all the
# box's cores, one example per core (models/default/unroll32/cpu.json: 38 examples/s on an H100
# box's 16 cores, against 13 with the network on its GPU).
# On the lent machine only 8 files of at most 16 MiB come back from $OUT: train into a folder
# outside $OUT (e.g. /tmp/runs) and pack what you need into a few archives in $OUT.
# Usage: scripts/train-on-gpu.sh RECIPE CONFIG OUT_DIR SECONDS_BUDGET [INIT_MODEL]
set -euo pipefail
start=$(date +%s)
recipe=$1 config=$2 out=$3 budget=$4 init=${5:-}
build=/tmp/flowdesign-gpu-build data=/tmp/flowdesign-gpu-data
torch_cmake=$(python3 -c "import torch; print(torch.utils.cmake_prefix_path)")
cmake -S . -B "$build" -G Ninja -DFLOWDESIGN_LEARNED_ONLY=ON -DCMAKE_PREFIX_PATH="$torch_cmake" \
  -DFLOWDESIGN_HEADERS_DIR="$PWD/.gpu/headers" -DFLOWDESIGN_TBB_LIBRARY="$PWD/.gpu/libtbb.so.12" >"$build.cmake.log" 2>&1 ||
  { tail -40 "$build.cmake.log"; exit 1; }
ninja -C "$build" flowdesign-train >"$build.log" 2>&1 || { grep -B2 -A8 "error" "$build.log" | head -120; exit 1; }
"$build/cli/flowdesign-train" --help | head -1
echo "built in $(($(date +%s) - start)) s"
"$build/cli/flowdesign-train" generate --recipe "$recipe" --out "$data" 2>/dev/null | head -1
echo "data ready after $(($(date +%s) - start)) s"
minutes=$(python3 -c "print(max(0.5, ($budget - ($(date +%s) - $start)) / 60.0))")
train() {  # CONFIG OUT_DIR
  "$build/cli/flowdesign-train" train --data "$data" --config "$1" --out "$2" --minutes "$minutes" ${init:+--init-from "$init"}
}
if [[ -d $config ]]; then
  pids=()
  for c in "$config"/*.json; do
    name=$(basename "$c" .json)
    mkdir -p "$out/$name"
    train "$c" "$out/$name" >"$out/$name/train.log" 2>&1 &
    pids+=($!)
  done
  status=0
  for p in "${pids[@]}"; do wait "$p" || status=1; done
  tail -n 3 "$out"/*/train.log
  exit $status
fi
train "$config" "$out"
