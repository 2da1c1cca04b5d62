#!/usr/bin/env bash
# Checks that every repository path the documentation names exists, so that a reader following
# README.md, docs/*.md, bench/README.md or train/README.md never lands on a file that moved.
#
#   scripts/check_doc_paths.sh [FILE.md ...]      (default: the pages above; CTest test doc_paths)
#
# What counts as a path: a word inside `inline code` or a fenced code block that contains a slash
# and starts with a top-level entry of the repository (tensor/..., docs/..., bench/...) or of the
# page's own folder; an inline code span that is just a file name with a source extension
# (`storage.h`, `wordpiece.cpp`: it must exist somewhere in the tree, since pages name files
# relative to the folder they are about); and every relative markdown link target, resolved from
# the page's folder. Globs (nn/module.*) must match something; `x.h/.cpp` stands for x.h and x.cpp.
# Not checked: URLs, absolute paths, ~ and $VARIABLE paths, paths outside the repository
# (../shared/..., <system headers>), placeholders (OUT/, DIR, <...>, {...}), file names inside
# commands (app.cpp in `c++ app.cpp`), and what builds and runs create (build/, runs/).
# Prints FILE:LINE: PATH for each missing path and fails if there is one.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if [ $# -gt 0 ]; then
  pages=("$@")
else
  pages=(README.md docs/*.md docs/*/*.md bench/README.md train/README.md)
fi

# Prints "LINE<TAB>KIND<TAB>TEXT" for every inline code span ("code"), fenced code line ("fence")
# and markdown link target ("link") of a page. A paragraph is joined before its backticks are
# paired, so a span broken across lines is read whole (as markdown does, with a space).
extract() {
  awk '
    function line_at(pos,   k) {  # the source line of character pos of the paragraph
      for (k = nlines; k > 1 && offs[k] > pos; k--) {}
      return lines[k]
    }
    function flush(   rest, base, i, j) {
      if (para == "") return
      rest = para; base = 0
      while ((i = index(rest, "](")) > 0) {
        rest = substr(rest, i + 2); base += i + 1
        j = index(rest, ")")
        if (j == 0) break
        printf "%d\tlink\t%s\n", line_at(base + 1), substr(rest, 1, j - 1)
      }
      rest = para; base = 0
      while ((i = index(rest, "`")) > 0) {
        rest = substr(rest, i + 1); base += i
        j = index(rest, "`")
        if (j == 0) break
        printf "%d\tcode\t%s\n", line_at(base + 1), substr(rest, 1, j - 1)
        rest = substr(rest, j + 1); base += j
      }
      para = ""; nlines = 0
    }
    /^[ \t]*```/ { flush(); fenced = !fenced; next }
    fenced { printf "%d\tfence\t%s\n", NR, $0; next }
    /^[ \t]*$/ { flush(); next }
    {
      if (para == "") para = $0; else para = para " " $0
      nlines++; lines[nlines] = NR; offs[nlines] = length(para) - length($0) + 1
    }
    END { flush() }
  ' "$1"
}

# Top-level entries of the repository that a path may start with (not build outputs).
is_top() {
  case "$1" in build | build-* | runs | .* | "") return 1 ;; esac
  [ -e "$root/$1" ]
}

exists() {  # exists BASE PATH: PATH (maybe a glob) names something under BASE
  local base=$1 path=$2
  case "$path" in
    *'*'* | *'?'*) compgen -G "$base/$path" >/dev/null ;;
    *) [ -e "$base/$path" ] ;;
  esac
}

# Every file name in the tree (build folders and .git left out), for bare names.
declare -A names=()
while IFS= read -r f; do names[$f]=1; done < <(find "$root" \( -path "$root/build*" -o -path "$root/.git" \) -prune -o \
                                                   -type f -printf '%f\n')

missing=0
report() {
  echo "$1:$2: $3" >&2
  missing=$((missing + 1))
}

check_word() {  # check_word PAGE LINE WORD ALONE (ALONE=1: the word is a whole inline code span)
  local page=$1 line=$2 w=$3 alone=$4 first
  # Trim the punctuation prose and shell put around a path, and a :LINE suffix.
  while :; do
    case "$w" in
      [\(\"\'\[]*) w=${w#?} ;;
      *[\)\"\'\],\;:.]) w=${w%?} ;;
      *) break ;;
    esac
  done
  [[ "$w" =~ ^(.*\.[A-Za-z0-9]+):[0-9]+(-[0-9]+)?$ ]] && w=${BASH_REMATCH[1]}
  w=${w#./}
  case "$w" in
    "" | .* | *://* | /* | '~'* | '$'* | -* | *'<'* | *'>'* | *'{'* | *'}'* | *'='* | *'$'*) return 0 ;;
  esac
  if [[ "$w" =~ ^(.*)\.([A-Za-z]+)/\.([A-Za-z]+)$ ]]; then  # x.h/.cpp
    local stem=${BASH_REMATCH[1]} a=${BASH_REMATCH[2]} b=${BASH_REMATCH[3]}
    check_word "$page" "$line" "$stem.$a" "$alone"
    check_word "$page" "$line" "$stem.$b" "$alone"
    return 0
  fi
  if [[ "$w" == */* ]]; then
    first=${w%%/*}
    if is_top "$first"; then
      exists "$root" "$w" || report "$page" "$line" "$w"
    elif [ "$dir" != . ] && [ -e "$root/$dir/$first" ]; then
      exists "$root/$dir" "$w" || report "$page" "$line" "$w"
    fi
    return 0
  fi
  [ "$alone" = 1 ] || return 0
  case "$w" in
    *'*'* | *'?'*) ;;
    *.h | *.cpp | *.hpp | *.inc | *.py | *.sh | *.js | *.cmake | *.md | *.in)
      [ -n "${names[$w]+x}" ] || report "$page" "$line" "$w" ;;
  esac
}

check_link() {  # check_link PAGE LINE TARGET
  local page=$1 line=$2 t=$3 resolved
  t=${t%%#*}
  t=${t%% *}   # [text](target "title")
  case "$t" in "" | *://* | mailto:* | /*) return 0 ;; esac
  resolved=$(realpath -m "$root/$dir/$t")
  case "$resolved" in "$root" | "$root"/*) ;; *) return 0 ;; esac  # outside the repository
  [ -e "$resolved" ] || report "$page" "$line" "$t"
}

for page in "${pages[@]}"; do
  [ -f "$page" ] || { echo "check_doc_paths: no such page: $page" >&2; exit 2; }
  page=$(realpath --relative-to="$root" "$page")
  dir=.   # the page's folder, relative to the root
  [[ "$page" == */* ]] && dir=${page%/*}
  while IFS=$'\t' read -r line kind text; do
    if [ "$kind" = link ]; then
      check_link "$page" "$line" "$text"
    else
      read -r -a words <<<"$text"   # split on blanks, no glob expansion
      alone=0
      [ "$kind" = code ] && [ ${#words[@]} -eq 1 ] && alone=1
      for word in ${words[@]+"${words[@]}"}; do check_word "$page" "$line" "$word" "$alone"; done
    fi
  done < <(extract "$page")
done

if [ "$missing" -gt 0 ]; then
  echo "check_doc_paths: $missing path(s) named in the documentation do not exist" >&2
  exit 1
fi
echo "check_doc_paths: every path named in ${#pages[@]} pages exists"
