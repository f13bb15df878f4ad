#!/bin/sh
# fetch-game.sh REPOSITORY COMMIT TARGET: put exactly COMMIT of the game in TARGET (no history,
# no .git). The commit is a full SHA-1, so what is fetched is what was pinned.
set -eu

if [ "$#" -ne 3 ]; then
    echo "usage: fetch-game.sh REPOSITORY COMMIT TARGET" >&2
    exit 2
fi
repository=$1
commit=$2
target=$3

case "$commit" in
    *[!0-9a-f]*)
        echo "fetch-game: COMMIT must be a full lower-case SHA-1, got '$commit'" >&2
        exit 2
        ;;
esac
if [ "${#commit}" -ne 40 ]; then
    echo "fetch-game: COMMIT must be a full 40-character SHA-1, got '$commit'" >&2
    exit 2
fi
if [ -e "$target" ]; then
    echo "fetch-game: $target already exists" >&2
    exit 2
fi

work=$(mktemp -d)
git -C "$work" init --quiet
git -C "$work" fetch --quiet --depth 1 "$repository" "$commit"
git -C "$work" -c advice.detachedHead=false checkout --quiet FETCH_HEAD
fetched=$(git -C "$work" rev-parse HEAD)
if [ "$fetched" != "$commit" ]; then
    echo "fetch-game: fetched $fetched, expected $commit" >&2
    exit 1
fi
rm -rf "$work/.git"
mkdir -p "$(dirname "$target")"
mv "$work" "$target"
chmod -R u=rwX,go=rX "$target"
echo "fetch-game: $repository at $commit in $target"
