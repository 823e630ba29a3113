#!/usr/bin/env bash
# C-side tests of the C ABI: build the libraries with cargo, compile the example and the C
# tests with -Wall -Wextra -Werror (C11 and C++17), run them natively, against the shared
# library, and under valgrind memcheck (errors and definite leaks fail), then check with
# pyarrow that the example's files hold exactly what it recorded.
# Usage: bash ffi/tests/run_c_tests.sh        (from anywhere; needs cc, c++, valgrind, python3+pyarrow)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
PROFILE_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/debug"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/otlp-arrow-c-tests.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

step() { printf '\n--> %s\n' "$*"; }
CFLAGS=(-g -O1 -Wall -Wextra -Werror -I"$ROOT/include")
LIBS=(-lpthread -ldl -lm)
VALGRIND=(valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite --quiet)

step "cargo build -p otlp-arrow-ffi (libotlp_arrow.a, libotlp_arrow.so)"
cargo build -p otlp-arrow-ffi --quiet
test -f "$PROFILE_DIR/libotlp_arrow.a" && test -f "$PROFILE_DIR/libotlp_arrow.so"

step "the header compiles alone as C11 and C++17"
printf '#include "otlp_arrow.h"\nint main(void) { return 0; }\n' > "$WORK/h.c"
cc -std=c11 -pedantic "${CFLAGS[@]}" -c "$WORK/h.c" -o "$WORK/h.o"
c++ -std=c++17 -x c++ "${CFLAGS[@]}" -c "$WORK/h.c" -o "$WORK/hpp.o"

step "compile the example and the C tests"
cc -std=c11 "${CFLAGS[@]}" ffi/examples/record.c "$PROFILE_DIR/libotlp_arrow.a" "${LIBS[@]}" -o "$WORK/record"
cc -std=c11 "${CFLAGS[@]}" ffi/examples/record.c -L"$PROFILE_DIR" -lotlp_arrow "${LIBS[@]}" -o "$WORK/record_shared"
for t in ffi/tests/c/*.c; do
    cc -std=c11 "${CFLAGS[@]}" "$t" "$PROFILE_DIR/libotlp_arrow.a" "${LIBS[@]}" -o "$WORK/$(basename "$t" .c)"
done
for t in ffi/tests/c/*.cpp; do
    c++ -std=c++17 "${CFLAGS[@]}" "$t" "$PROFILE_DIR/libotlp_arrow.a" "${LIBS[@]}" -o "$WORK/$(basename "$t" .cpp)_cpp"
done

step "C tests (native, then valgrind)"
for t in ffi/tests/c/*.c; do
    name=$(basename "$t" .c)
    mkdir -p "$WORK/$name-native" "$WORK/$name-valgrind"
    "$WORK/$name" "$WORK/$name-native"
    "${VALGRIND[@]}" "$WORK/$name" "$WORK/$name-valgrind"
done
for t in ffi/tests/c/*.cpp; do
    "${VALGRIND[@]}" "$WORK/$(basename "$t" .cpp)_cpp"
done

step "the complete program of docs/C-API.md compiles, runs, and is valgrind clean"
python3 - "$WORK/doc.c" <<'PY'
import re, sys
text = open("docs/C-API.md").read()
block = re.search(r"```c\n(.*?)```", text, re.S).group(1)
open(sys.argv[1], "w").write(block)
PY
cc -std=c11 "${CFLAGS[@]}" "$WORK/doc.c" "$PROFILE_DIR/libotlp_arrow.a" "${LIBS[@]}" -o "$WORK/doc"
(cd "$WORK" && "${VALGRIND[@]}" ./doc | grep -qx "1 span(s) written")

step "example against the static library, under valgrind, then the pyarrow check"
"${VALGRIND[@]}" "$WORK/record" "$WORK/out-static"
python3 ffi/tests/check_example.py "$WORK/out-static" 4 1000 100 500

step "example against the shared library, then the pyarrow check"
LD_LIBRARY_PATH="$PROFILE_DIR" "$WORK/record_shared" "$WORK/out-shared"
python3 ffi/tests/check_example.py "$WORK/out-shared" 4 1000 100 500

printf '\nC ABI tests: all passed\n'
