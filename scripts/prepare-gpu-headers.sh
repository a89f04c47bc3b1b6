#!/usr/bin/env bash
# Copies the header-only libraries and libtbb that a LibTorch-only machine (e.g. a lent GPU box
# with PyTorch's LibTorch) lacks into .gpu/, which scripts/train-on-gpu.sh builds against.
# Run here, on a machine where ./run installed the Debian packages; .gpu/ is git-ignored.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .gpu && mkdir -p .gpu/headers
cp -r /usr/include/nlohmann /usr/include/CLI /usr/include/eigen3/Eigen /usr/include/tbb /usr/include/oneapi .gpu/headers/
cp -L "$(ls /usr/lib/*/libtbb.so.12 | head -1)" .gpu/
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo /.gpu/ >> .git/info/exclude
du -sh .gpu
