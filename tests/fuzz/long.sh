#!/usr/bin/env bash
# long.sh MINUTES [NAME[=MINUTES]...]: a long fuzz run of the fuzz targets
# (all of them, or the ones named) under libFuzzer with AddressSanitizer and
# UndefinedBehaviorSanitizer, two at a time (one per core). Each starts from
# its corpus, tests/fuzz/corpus/NAME, grows a scratch copy, and its finds are
# merged back into the corpus, minimised (-merge=1). Memory growth past
# -rss_limit_mb (512) counts as a crash, and so does any undefined behaviour
# (the fuzz build does not recover from it). A target given 0 minutes is
# skipped. It prints one line per target:
#   NAME minutes=M execs=N exec/s=R cov=C ft=F corpus=BEFORE->AFTER peak_rss_mb=P crashes=K
# and keeps each run's log and any crash input in $VREDIR_FUZZ_OUT (default
# build-fuzz/long/). Crash inputs must be fixed, then added to the corpus.
#
#   bash tests/fuzz/long.sh 3 session=10 qmp=10 known_hosts=10 domain_xml=10
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
default_minutes=${1:?usage: long.sh MINUTES [NAME[=MINUTES]...]}
shift
build=${VREDIR_FUZZ_BUILD:-$src/build-fuzz}
out=${VREDIR_FUZZ_OUT:-$build/long}
jobs=${VREDIR_FUZZ_JOBS:-2}
rss=${VREDIR_FUZZ_RSS_MB:-512}
for t in clang clang++; do
  command -v $t >/dev/null || { echo "long.sh: $t is missing (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
done

declare -A minutes
names=()
if [ $# -eq 0 ]; then
  for f in "$src"/tests/fuzz/*_fuzz.cpp; do n=$(basename "$f" _fuzz.cpp); names+=("$n"); minutes[$n]=$default_minutes; done
else
  # Named targets get their own minutes; the others the default.
  for f in "$src"/tests/fuzz/*_fuzz.cpp; do n=$(basename "$f" _fuzz.cpp); names+=("$n"); minutes[$n]=$default_minutes; done
  for a in "$@"; do
    n=${a%%=*}
    [ -f "$src/tests/fuzz/${n}_fuzz.cpp" ] || { echo "long.sh: no fuzz target '$n'" >&2; exit 2; }
    [ "$a" != "$n" ] && minutes[$n]=${a#*=}
  done
fi

echo "long.sh: building the fuzzers (clang, ASan, UBSan) in $build" >&2
CC=clang CXX=clang++ cmake -S "$src" -B "$build" -G Ninja -DVREDIR_FUZZ=ON -DVREDIR_WINDOWS=OFF >"$build.cmake.log" 2>&1 ||
  { echo "long.sh: configure failed, see $build.cmake.log" >&2; exit 1; }
targets=()
for n in "${names[@]}"; do [ "${minutes[$n]}" = 0 ] || targets+=("${n}_fuzzer"); done
cmake --build "$build" -j"$jobs" --target "${targets[@]}" >"$build.build.log" 2>&1 ||
  { echo "long.sh: build failed, see $build.build.log" >&2; exit 1; }

# ASan keeps freed memory in a quarantine (256 MB by default) and caches it;
# both count in the RSS that -rss_limit_mb watches. Keep them small and give
# freed memory back, so the limit measures what the code keeps.
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=32:allocator_release_to_os_interval_ms=500}

mkdir -p "$out"
run_one() {
  local n=$1 m=$2 corpus=$src/tests/fuzz/corpus/$1 scratch=$out/$1.corpus log=$out/$1.log
  mkdir -p "$corpus" "$out/$n.crashes"
  rm -rf "$scratch"
  cp -r "$corpus" "$scratch"
  local before
  before=$(find "$corpus" -type f | wc -l)
  "$build/tests/fuzz/${n}_fuzzer" "$scratch" -max_total_time=$((m * 60)) -rss_limit_mb="$rss" -timeout=20 \
    -print_final_stats=1 -artifact_prefix="$out/$n.crashes/" -close_fd_mask=3 >"$log" 2>&1
  # The finds, minimised into the corpus kept in the tree.
  "$build/tests/fuzz/${n}_fuzzer" -merge=1 "$corpus" "$scratch" -rss_limit_mb="$rss" >"$out/$n.merge.log" 2>&1
  local after execs rate cov ft peak crashes
  after=$(find "$corpus" -type f | wc -l)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  peak=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  crashes=$(find "$out/$n.crashes" -type f | wc -l)
  echo "$n minutes=$m execs=${execs:-?} exec/s=${rate:-?} cov=${cov:-?} ft=${ft:-?} corpus=$before->$after" \
    "peak_rss_mb=${peak:-?} crashes=$crashes"
}

running=0
for n in "${names[@]}"; do
  [ "${minutes[$n]}" = 0 ] && continue
  run_one "$n" "${minutes[$n]}" &
  running=$((running + 1))
  if [ $running -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
done
wait
