#!/usr/bin/env bash
# Golden CLI tests: each tests/golden/cases/NAME/ has
#   cmd      a bash snippet, run in a fresh temp dir ($CASE is the case dir,
#            $STREAMS the text stream descriptions; vrs-build turns them into streams)
#   stdout   expected standard output (exact)
#   stderr   expected standard error (exact; optional)
#   rc       expected exit status
# UPDATE=1 rewrites the expected files from the actual output.
set -u
here=$(cd "$(dirname "$0")" && pwd)
export STREAMS=$here/streams
pass=0 failed=0
for case_dir in "$here"/cases/*/; do
  name=$(basename "$case_dir")
  export CASE=$case_dir
  work=$(mktemp -d)
  (cd "$work" && bash "$case_dir/cmd" >"$work/.stdout" 2>"$work/.stderr"; echo $? >"$work/.rc")
  ok=1
  if [ "${UPDATE:-0}" = 1 ]; then
    cp "$work/.stdout" "$case_dir/stdout"
    cp "$work/.rc" "$case_dir/rc"
    [ -s "$work/.stderr" ] && cp "$work/.stderr" "$case_dir/stderr" || rm -f "$case_dir/stderr"
  fi
  for f in stdout rc stderr; do
    [ -f "$case_dir/$f" ] || { [ "$f" = stderr ] && continue; }
    if ! diff -u "$case_dir/$f" "$work/.$f" >"$work/.diff"; then
      echo "not ok - $name: $f differs"
      sed 's/^/    /' "$work/.diff" | head -40
      ok=0
    fi
  done
  if [ $ok = 1 ]; then echo "ok - $name"; pass=$((pass + 1)); else failed=$((failed + 1)); fi
  rm -rf "$work"
done
echo "$pass passed, $failed failed"
[ $failed = 0 ]
