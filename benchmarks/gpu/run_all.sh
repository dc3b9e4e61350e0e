#!/usr/bin/env bash
# One command for a lent CUDA machine: the CUDA tests, timings of the shipped models (fp32/fp16/bf16, eager and
# torch.compile, bare network and upscale_picture with PD + exact), then a few minutes of training of the largest
# sensible compact net; everything (logs, JSON, checkpoint) goes to one folder.
#
#   bash benchmarks/gpu/run_all.sh [--out DIR] [--budget-s 480] [--device cuda|cpu] [--data DIR] [--dry-run]
#
# --out      where results go (default: $OUT, else benchmarks/gpu/out)
# --budget-s the whole run's wall-clock budget in seconds (default 480): 20 % tests, 35 % timings, 40 % training
# --device   cuda (default where there is one) or cpu
# --data     training photos (default: the first of shared/data/train/CBSD432, ../shared/data/train/CBSD432,
#            else examples/, which is enough for a smoke run only)
# --dry-run  a tiny CPU version of every step (test collection only, 32² timings, a 2-step training)
#
# `srcli train sr` has no device option: training runs on the machine's CPU cores whatever --device says
# (the log records it); --threads is set to every core.
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-benchmarks/gpu/out}"
budget=480
device=""
data=""
dry=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --budget-s) budget="$2"; shift 2 ;;
    --device) device="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    --dry-run) dry=1; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
out="$(cd "$out" && pwd)"
py="${PYTHON:-python}"
if [ -z "$device" ]; then
  device="$($py -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")')"
fi
[ "$dry" = 1 ] && device=cpu
if [ -z "$data" ]; then
  for candidate in shared/data/train/CBSD432 ../shared/data/train/CBSD432 examples; do
    if [ -d "$candidate" ]; then data="$candidate"; break; fi
  done
fi
tests_s=$((budget * 20 / 100))
bench_s=$((budget * 35 / 100))
train_s=$((budget * 40 / 100))
log() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$out/run_all.log"; }
log "device=$device budget=${budget}s data=$data out=$out dry_run=$dry"
{ nvidia-smi 2>/dev/null || echo "no nvidia-smi"; grep -m1 'model name' /proc/cpuinfo; nproc; } > "$out/machine.txt"

# 1. the CUDA tests (the `device` fixture's cuda parameters; on CPU they skip)
if [ "$dry" = 1 ]; then
  timeout "$tests_s" $py -m pytest -q -p no:cacheprovider --collect-only -k cuda tests > "$out/pytest-cuda.log" 2>&1
else
  timeout "$tests_s" $py -m pytest -q -p no:cacheprovider -k cuda --junitxml="$out/pytest-cuda.xml" tests \
    > "$out/pytest-cuda.log" 2>&1
fi
tests_rc=$?
log "tests rc=$tests_rc ($(tail -n 1 "$out/pytest-cuda.log"))"

# 2. timings
bench_args=(--device "$device" --out "$out" --budget-s "$((bench_s * 3 / 4))")
[ "$dry" = 1 ] && bench_args+=(--dry-run)
timeout "$bench_s" $py benchmarks/gpu/bench.py "${bench_args[@]}" > "$out/bench.log" 2>&1
bench_rc=$?
log "timings rc=$bench_rc ($(grep -c '"model"' "$out/bench.log") configurations printed)"

# 3. training: compact-x4 deepened to 16 convolutions (64 channels: Real-ESRGAN animevideov3's shape)
if [ "$dry" = 1 ]; then
  train_args=(--num-feat 8 --num-conv 2 --steps 2 --batch 2 --patch 16 --val-every 1000)
else
  minutes="$($py -c "print(max(0.2, round(($train_s - 60) / 60, 2)))")"  # a minute for start-up and the last validation
  train_args=(--init weights/compact-x4.safetensors --num-feat 64 --num-conv 16 --minutes "$minutes" --steps 1000000
              --batch 32 --patch 48 --lr 0.0002 --ema 0.999 --val-every 250 --threads "$(nproc)")
  for val in shared/data/bench/Set5 ../shared/data/bench/Set5; do
    if [ -d "$val" ]; then train_args+=(--val "$val"); break; fi
  done
fi
timeout "$train_s" $py -m srcli train sr --scale 4 --data "$data" --out "$out/compact-x4-c16.safetensors" \
  --run-dir "$out/train-run" "${train_args[@]}" > "$out/train.log" 2>&1
train_rc=$?
log "training rc=$train_rc ($(tail -n 1 "$out/train.log"))"

$py - "$out" "$tests_rc" "$bench_rc" "$train_rc" "$device" "$dry" <<'PY'
import json, os, sys
from pathlib import Path
out = Path(sys.argv[1])
summary = {"device": sys.argv[5], "dry_run": sys.argv[6] == "1", "loadavg": os.getloadavg(),
           "tests_rc": int(sys.argv[2]), "timings_rc": int(sys.argv[3]), "training_rc": int(sys.argv[4]),
           "tests_tail": (out / "pytest-cuda.log").read_text().splitlines()[-1:],
           "checkpoint": str(out / "compact-x4-c16.safetensors") if (out / "compact-x4-c16.safetensors").exists() else None}
(out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
print(json.dumps(summary))
PY
[ "$tests_rc" = 0 ] && [ "$bench_rc" = 0 ] && [ "$train_rc" = 0 ]
