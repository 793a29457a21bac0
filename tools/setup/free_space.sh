# Sourced by tools/setup.sh and tools/setup/oldest_stack.sh before they put a
# torch into an environment: a CUDA build of torch takes several GiB, and a
# disk that fills up half-way leaves a broken environment and pip's traceback.
#
#   need_free_gib GIB DIR WHAT PREFIX
#
# stops with one line (PREFIX ERROR: ...) when the file system that holds DIR
# (or the nearest folder of it that exists) has less than GIB GiB free, and
# also checks TMPDIR where it is another file system (pip downloads there).

# Measured on this project's machine (du of the environments, 2026-12-07):
# .venv with torch 2.14.1 + torchvision 0.29.1 installed from local wheels:
# 6.2 GiB; .venv-oldest with torch 2.1.2 (CUDA 12.1 wheels from PyPI): 5.3 GiB
# installed plus about 2.6 GiB of downloads.
GIB_FOR_TORCH=7
GIB_FOR_OLDEST_TORCH=8

existing() {  # $1, or the nearest folder above it that exists
  local dir="$1"
  while [[ ! -e "$dir" ]]; do dir="$(dirname "$dir")"; done
  echo "$dir"
}
free_gib_at() {  # free GiB (rounded down) on the file system that holds $1
  df -Pk "$(existing "$1")" | awk 'NR == 2 {print int($4 / 1048576)}'
}

need_free_gib() {
  local gib="$1" dir="$2" what="$3" prefix="$4" tmp="${TMPDIR:-/tmp}" free
  free="$(free_gib_at "$dir")"
  if (( free < gib )); then
    printf '%s ERROR: %s needs about %s GiB free where %s is, %s GiB are free: free some space there, or put the environment on a larger disk\n' \
      "$prefix" "$what" "$gib" "$dir" "$free" >&2
    exit 1
  fi
  if [[ -d "$tmp" && "$(stat -c %d "$tmp")" != "$(stat -c %d "$(existing "$dir")")" ]] &&
     (( $(free_gib_at "$tmp") < 3 )); then
    printf '%s ERROR: %s downloads about 3 GiB into %s, which has %s GiB free: free some space there or set TMPDIR to a larger disk\n' \
      "$prefix" "$what" "$tmp" "$(free_gib_at "$tmp")" >&2
    exit 1
  fi
}
