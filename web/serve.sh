#!/usr/bin/env bash
# Builds the web page and serves it: the gpu-cluster-web crate compiled for
# wasm32-unknown-unknown (release), bound by wasm-bindgen into web/pkg/, and
# web/ served on http://127.0.0.1:$PORT/ (default 8000) by Python's
# http.server, which sends .wasm as application/wasm (browsers compile
# WebAssembly while it streams in only with that type).
#
#   web/serve.sh               build, then serve until Ctrl-C
#   PORT=9000 web/serve.sh     on another port
#   web/serve.sh --build-only  build and stop (CI, web/test/run.sh)
#
# wasm-bindgen-cli must be the version of the wasm-bindgen crate in
# Cargo.lock (the two share a format that changes between versions): when
# the one found is another version or missing, it is installed with cargo.
set -euo pipefail

web=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$web")

build_only=false
case "${1-}" in
    "") ;;
    --build-only) build_only=true ;;
    -h | --help)
        sed -n '2,14s/^# \{0,1\}//p' "$0"
        exit 0
        ;;
    *)
        echo "serve.sh: unknown argument '$1' (try --help)" >&2
        exit 2
        ;;
esac
port=${PORT:-8000}

# The version Cargo.lock records for the wasm-bindgen crate.
version=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/^version = "|"$/, ""); print; exit }' \
    "$root/Cargo.lock")
if [ -z "$version" ]; then
    echo "serve.sh: no wasm-bindgen in $root/Cargo.lock" >&2
    exit 1
fi

cargo_bin=${CARGO_HOME:-$HOME/.cargo}/bin
bindgen=$(command -v wasm-bindgen || echo "$cargo_bin/wasm-bindgen")
if [ "$("$bindgen" --version 2>/dev/null)" != "wasm-bindgen $version" ]; then
    echo "serve.sh: installing wasm-bindgen-cli $version (cargo install, a few minutes, once)"
    # Without default features: they only add TLS for the test runner's
    # downloads, which nothing here uses. --locked builds with the
    # dependency versions wasm-bindgen-cli was released with; a registry
    # that lacks one of them (a mirror behind crates.io) gets a second try
    # with the newest compatible versions it has.
    install=(cargo install wasm-bindgen-cli --version "$version" --no-default-features --force)
    if ! "${install[@]}" --locked; then
        echo "serve.sh: --locked install failed; retrying with the registry's compatible versions" >&2
        "${install[@]}"
    fi
    bindgen=$cargo_bin/wasm-bindgen
fi

cargo build --manifest-path "$root/Cargo.toml" -p gpu-cluster-web \
    --target wasm32-unknown-unknown --release
target=${CARGO_TARGET_DIR:-$root/target}
"$bindgen" --target web --no-typescript --out-dir "$web/pkg" \
    "$target/wasm32-unknown-unknown/release/gpu_cluster_web.wasm"
echo "serve.sh: built $web/pkg"

if $build_only; then
    exit 0
fi
echo "serve.sh: serving $web on http://127.0.0.1:$port/ (Ctrl-C stops)"
cd "$web"
exec python3 -m http.server --bind 127.0.0.1 "$port"
