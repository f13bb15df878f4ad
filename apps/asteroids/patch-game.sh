#!/bin/sh
# patch-game.sh GAME_DIR: our patch of NodeGame-Shooter (written for Node 0.x in 2010-2012) for
# current Node.js, then a check that the patched server loads and talks WebSocket.
#
# What changes, in server/ only (the browser client is untouched):
#   require('sys')   -> require('util')         'sys' is a deprecated alias (DEP0025)
#   sys.print(...)   -> process.stdout.write(...) util.print was removed in Node 12
#   new Buffer(frame) -> Buffer.from(frame)      the byte array of a hixie-76 frame
#   new Buffer(n)    -> Buffer.alloc(n)          every other use allocates n bytes (DEP0005)
set -eu

if [ "$#" -ne 1 ]; then
    echo "usage: patch-game.sh GAME_DIR" >&2
    exit 2
fi
game=$1
here=$(dirname "$0")

find "$game/server" -name '*.js' -exec sed -i \
    -e "s/require('sys')/require('util')/g" \
    -e 's/require("sys")/require("util")/g' \
    -e 's/\bsys\.print(/process.stdout.write(/g' \
    -e 's/new Buffer(frame)/Buffer.from(frame)/g' \
    -e 's/new Buffer(/Buffer.alloc(/g' \
    {} +

# Nothing of the Node 0.x API may be left, or the upstream code is not what this patch expects.
if grep -rn -e "require(.sys.)" -e '\bsys\.print(' -e 'new Buffer(' "$game/server"; then
    echo "patch-game: Node 0.x API left in the lines above" >&2
    exit 1
fi

# Every server file still parses.
find "$game/server" -name '*.js' | while IFS= read -r file; do
    node --check "$file"
done

# The patched server starts, accepts a WebSocket client of current Node and answers it.
node "$here/smoke-test.js" "$game"
echo "patch-game: $game patched for Node $(node --version)"
