# Sourced by the project's entry points (npm start, npm test, scripts/run, scripts/run-service,
# .ci/run). Puts a Node.js the project supports (^22.22 or >= 24.6) first on the PATH: the
# machine's own when it is new enough, else Node 24 LTS, fetched once from the npm registry
# (the `node-<platform>-<arch>` package holds the official binary) into a cache outside the
# checkout. npm itself is the machine's: it runs on whichever node is first on the PATH.

ecosystem_node_supported() {
  "$1" -e '
    const [major, minor] = process.versions.node.split(".").map(Number);
    process.exit((major === 22 && minor >= 22) || (major === 24 && minor >= 6) || major > 24 ? 0 : 1);
  ' 2> /dev/null
}

ecosystem_use_node() {
  if ! command -v node > /dev/null 2>&1 || ! command -v npm > /dev/null 2>&1; then
    echo "This project needs Node.js and npm on the PATH (any version: it fetches Node 24 LTS itself when yours is older)." >&2
    return 1
  fi
  if ecosystem_node_supported node; then return 0; fi
  local package home
  package="node-$(node -p 'process.platform + "-" + process.arch')"
  home="${XDG_CACHE_HOME:-$HOME/.cache}/order-ecosystem/node24"
  local binary="$home/node_modules/$package/bin/node"
  if [ ! -x "$binary" ] || ! ecosystem_node_supported "$binary"; then
    echo "Node $(node --version) is older than this project supports; fetching Node 24 LTS ($package@24, about 30 MB) from the npm registry into $home (first time only)..." >&2
    mkdir -p "$home"
    if ! npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error --prefix "$home" "$package@24" >&2; then
      echo "Fetching Node 24 failed. Install Node 24 LTS (or 22.22+) yourself and run this again." >&2
      return 1
    fi
  fi
  export PATH="$(dirname "$binary"):$PATH"
  # node-gyp builds native addons (better-sqlite3) against this Node's own headers, shipped in the package.
  export npm_config_nodedir="$home/node_modules/$package"
}

# Installs the npm packages when they are missing, older than package-lock.json, or were built
# for another Node (a native addon only loads into the Node ABI it was built for).
ecosystem_install_packages() {
  local abi marker=node_modules/.ecosystem-node-abi
  abi="$(node -p process.versions.modules)"
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "Installing npm packages (node $(node --version))..." >&2
    npm ci --no-audit --no-fund >&2
    echo "$abi" > "$marker"
  elif [ "$(cat "$marker" 2> /dev/null)" != "$abi" ]; then
    echo "Rebuilding native addons for node $(node --version)..." >&2
    npm rebuild better-sqlite3 >&2
    echo "$abi" > "$marker"
  fi
}

# Compiles the TypeScript of every package (tsc -b: only what changed since the last build), then
# bundles each service into one file (scripts/bundle.mjs).
ecosystem_build() {
  node node_modules/typescript/bin/tsc -b tsconfig.build.json >&2
  node scripts/bundle.mjs >&2
}

# Everything a program of the project needs before it runs: a supported Node, the packages, the build.
ecosystem_prepare() {
  ecosystem_use_node
  ecosystem_install_packages
  ecosystem_build
}
