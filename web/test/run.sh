#!/usr/bin/env bash
# The web page's browser test, all of it (CI runs this): playwright-core
# from web/test/package-lock.json, the native CLI the test compares with,
# the page's WebAssembly (web/serve.sh --build-only), the page served on a
# free port of 127.0.0.1, the test in headless Chromium (/usr/bin/chromium,
# or $CHROMIUM), and the server stopped again whatever the outcome.
set -euo pipefail

test_dir=$(cd "$(dirname "$0")" && pwd)
web=$(dirname "$test_dir")
root=$(dirname "$web")

step() {
    echo "--- $*"
}

# playwright-core refuses Node.js before 20: say so plainly.
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if ((node_major < 20)); then
    echo "web/test/run.sh: Node.js 20 or later is needed (found: $(node --version 2>/dev/null || echo none))" >&2
    exit 1
fi

step "npm ci (playwright-core)"
(cd "$test_dir" && npm ci --no-audit --no-fund --loglevel=error)

step "native CLI (cargo build --release -p gpu-cluster-cli)"
cargo build --manifest-path "$root/Cargo.toml" --release -p gpu-cluster-cli

step "page (web/serve.sh --build-only)"
"$web/serve.sh" --build-only

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
step "serving web/ on 127.0.0.1:$port"
log=$(mktemp)
(cd "$web" && exec python3 -m http.server --bind 127.0.0.1 "$port") >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do
    if python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/index.html')" 2>/dev/null; then
        break
    fi
    if ! kill -0 "$server" 2>/dev/null; then
        echo "the server stopped:" >&2
        cat "$log" >&2
        exit 1
    fi
    sleep 0.1
done

step "browser test"
target=${CARGO_TARGET_DIR:-$root/target}
PAGE_URL="http://127.0.0.1:$port/" GPU_CLUSTER="$target/release/gpu-cluster" \
    node --test --test-reporter=spec "$test_dir/page.test.mjs"
