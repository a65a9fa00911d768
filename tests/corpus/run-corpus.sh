#!/usr/bin/env bash
# run-corpus.sh - run smimectl over the read-only real-world S/MIME corpus and
# compare its verdicts with the corpus expectations.  See docs/corpus.md.
#
# usage: tests/corpus/run-corpus.sh [--list] [SOURCE...]
#   --list    only print file / category / expectation per message (no smimectl)
#   SOURCE    restrict the run to these sources (folder names of sources.tsv)
#
# Environment:
#   SMIME_CORPUS            corpus root (default: $top_srcdir/../shared/corpus;
#                           top_srcdir defaults to two levels above this script)
#   SMIMECTL                binary under test (default: $top_builddir/src/smimectl)
#   top_builddir            build tree (default: cwd if it has src/smimectl, else
#                           the source tree two levels above this script)
#   SMIME_CORPUS_TIMEOUT    seconds per message (default 20, 300 under valgrind)
#   SMIME_CORPUS_VALGRIND=1 run smimectl under valgrind; errors/definite leaks fail
#   SMIME_CORPUS_VERBOSE=1  also print every agreeing message
#
# Exit status (automake test protocol): 0 ok, 1 hard failure, 77 skipped
# (corpus or smimectl absent; a failure instead in strict mode, CI=true:
# tests/skip.sh).  Hard failures: a pass on an INVALID, ATTACK,
# UNSIGNED or ENCRYPTED message; a crash (signal), hang (timeout), exit 70 or any
# exit status other than 0/75/77; no JSON report; valgrind errors (exit 99).
# Soft disagreements (we are stricter than the corpus) are listed, not failed.
set -u
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
top=${top_srcdir:-$(cd "$here/../.." && pwd)}   # automake exports top_srcdir
corpus=${SMIME_CORPUS:-$top/../shared/corpus}
sources_tsv=$here/sources.tsv
mapping_tsv=$here/mapping.tsv
known_tsv=$here/known-differences.tsv

list_only=0
if [[ ${1:-} == --list ]]; then list_only=1; shift; fi
only=" $* "

# shellcheck source=../skip.sh
. "$here/../skip.sh"
if [[ ! -d $corpus ]]; then
    skip_or_fail "corpus not found at $corpus (set SMIME_CORPUS)"
fi
corpus=$(cd "$corpus" && pwd)

if [[ -z ${SMIMECTL:-} ]]; then
    if [[ -n ${top_builddir:-} ]]; then SMIMECTL=$top_builddir/src/smimectl
    elif [[ -x $PWD/src/smimectl ]]; then SMIMECTL=$PWD/src/smimectl
    else SMIMECTL=$top/src/smimectl
    fi
fi
if (( ! list_only )) && [[ ! -x $SMIMECTL ]]; then
    skip_or_fail "smimectl not found or not executable: $SMIMECTL (build it or set SMIMECTL)"
fi

valgrind=()
timeout_s=${SMIME_CORPUS_TIMEOUT:-20}
if [[ ${SMIME_CORPUS_VALGRIND:-0} == 1 ]]; then
    command -v valgrind >/dev/null || skip_or_fail "SMIME_CORPUS_VALGRIND=1 but valgrind is not installed"
    valgrind=(valgrind --error-exitcode=99 --leak-check=full
              --errors-for-leak-kinds=definite -q)
    timeout_s=${SMIME_CORPUS_TIMEOUT:-300}
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/smime-corpus.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT

# ---- known differences: key "path<TAB>verdict" (verdict may be "*") -------
declare -A known=()
if [[ -f $known_tsv ]]; then
    while IFS=$'\t' read -r kf kv kr; do
        [[ -z $kf || $kf == \#* ]] && continue
        known["$kf"$'\t'"$kv"]=$kr
    done < "$known_tsv"
fi

# classify SOURCE EXPCOL EXPECTED.tsv -> lines "file<TAB>category<TAB>expected<TAB>note"
classify() {
    awk -F'\t' -v src="$1" -v expcol="$2" -v mapfile="$mapping_tsv" '
        FILENAME == mapfile {
            if ($0 ~ /^#/ || $0 ~ /^[ \t]*$/) next
            if ($1 == src) { n++; rcol[n] = $2 + 0; rre[n] = $3; rcat[n] = $4; rnote[n] = $5 }
            next
        }
        $0 ~ /^#/ || $0 ~ /^[ \t]*$/ { next }
        {
            cat = "OTHER"; note = "no mapping rule matched"
            for (i = 1; i <= n; i++) {
                v = (rcol[i] == 0) ? $0 : $(rcol[i])
                if (v ~ rre[i]) { cat = rcat[i]; note = rnote[i]; break }
            }
            e = (expcol ~ /^[0-9]+$/) ? $(expcol) : "-"
            gsub(/\t/, " ", e)
            print $1 "\t" cat "\t" e "\t" note
        }
    ' "$mapping_tsv" "$3"
}

# robust_list SOURCEDIR -> every message file, category ROBUST
robust_list() {
    (cd "$1" && find . -type f \( -name '*.eml' -o -name '*.env' -o -name '*.msg' \) | sed 's|^\./||' | sort) |
        awk '{ print $0 "\tROBUST\t-\tno EXPECTED.tsv: must not crash" }'
}

# make_anchors "a,b,c" OUT -> concatenated PEM; returns 1 if one is missing
make_anchors() {
    local a f out=$2 ok=0
    : > "$out"
    IFS=, read -ra a <<< "$1"
    for f in "${a[@]}"; do
        f=$corpus/$f
        if [[ ! -r $f ]]; then echo "  ERROR: trust anchor missing: $f"; ok=1; continue; fi
        if grep -q -- '-----BEGIN' "$f"; then cat "$f" >> "$out"; echo >> "$out"
        elif ! openssl x509 -inform DER -in "$f" >> "$out" 2>/dev/null; then
            echo "  ERROR: cannot read trust anchor (neither PEM nor DER): $f"; ok=1
        fi
    done
    return $ok
}

json_verdict() {
    sed -n 's/.*"verdict"[[:space:]]*:[[:space:]]*"\([A-Za-z]*\)".*/\1/p' "$1" | head -n 1
}
# all non-empty "reason" strings of the results array, "; "-joined
json_reasons() {
    grep -oE '"reason"[[:space:]]*:[[:space:]]*"([^"\\]|\\.)*"' "$1" |
        sed 's/^"reason"[[:space:]]*:[[:space:]]*"//; s/"$//' | grep -v '^$' |
        awk 'NR > 1 { printf "; " } { printf "%s", $0 } END { if (NR) print "" }'
}
json_results() {
    grep -oE '"result"[[:space:]]*:[[:space:]]*"[A-Za-z]*"' "$1" |
        sed 's/.*"\([A-Za-z]*\)"$/\1/' | awk 'NR > 1 { printf "," } { printf "%s", $0 } END { if (NR) print "" }'
}
short() { local s=$1; (( ${#s} > ${2:-70} )) && s="${s:0:${2:-70}}..."; printf '%s' "$s"; }

total_agree=0 total_known=0 total_crash=0 total_pass=0 total_fail=0 total_soft=0 total_revoc=0 total_info=0 total_msgs=0
table=()

while IFS=$'\t' read -r source anchors now expected expcol _why; do
    [[ -z $source || $source == \#* ]] && continue
    [[ $only != "  " && $only != *" $source "* ]] && continue
    sdir=$corpus/$source
    if [[ ! -d $sdir ]]; then
        skip_part "corpus source $source: folder missing in $corpus"
        table+=("$(printf '%-22s %8s  (missing)' "$source" 0)")
        continue
    fi
    list=$tmp/$source.list
    if [[ $expected == - ]]; then
        robust_list "$sdir" > "$list"
    elif [[ -r $sdir/$expected ]]; then
        classify "$source" "$expcol" "$sdir/$expected" > "$list"
    else
        echo "== $source: $expected missing, running robustness-only"
        robust_list "$sdir" > "$list"
    fi

    if (( list_only )); then
        echo "== $source (--now $now; anchors: $anchors)"
        while IFS=$'\t' read -r f cat exp note; do
            printf '  %-10s %s\n             expected: %s\n             why: %s\n' "$cat" "$f" "$(short "$exp" 100)" "$note"
        done < "$list"
        continue
    fi

    echo "== $source  (--now $now = $(date -u -d "@$now" +%Y-%m-%dT%H:%MZ 2>/dev/null); anchors: $anchors)"
    sd=$tmp/$source
    mkdir -p "$sd/state"
    n=0 agree=0 kn=0 soft=0 revoc=0 info=0 crash=0 fail=0
    if ! make_anchors "$anchors" "$sd/anchors.pem"; then
        fail=$((fail + 1))
    fi
    cat > "$sd/main.cf" <<EOF
authserv_id = mx.test
trust_anchors = $sd/anchors.pem
state_dir = $sd/state
EOF
    # Never fetch revocation data from the corpus certificates' real-world
    # URLs (tests talk to 127.0.0.1 only). PKITS ships its CRLs: check them
    # offline, as PKITS intends; other sources are not checked.
    if [[ -d $sdir/crls ]]; then
        printf 'revocation = hard\nrevocation_network = no\nrevocation_order = crl\ncrl_files = %s\n' \
            "$(find "$sdir/crls" -name '*.crl' | sort | tr '\n' ' ')" >> "$sd/main.cf"
    else
        echo "revocation = off" >> "$sd/main.cf"
    fi

    while IFS=$'\t' read -r f cat exp note; do
        n=$((n + 1))
        msg=$sdir/$f
        rel=$source/$f
        out=$sd/out.$n err=$sd/err.$n
        if [[ ! -r $msg ]]; then
            echo "  FAIL      $f: message listed in $expected but missing"
            fail=$((fail + 1)); continue
        fi
        timeout -k 5 "$timeout_s" "${valgrind[@]}" "$SMIMECTL" -c "$sd/main.cf" \
            process --inbound --now "$now" --report "$msg" > "$out" 2> "$err" < /dev/null
        rc=$?
        problem=
        case $rc in
            0|75|77) ;;
            70)  problem="internal error (exit 70)" ;;
            99)  [[ ${#valgrind[@]} -gt 0 ]] && problem="valgrind errors (exit 99)" || problem="exit 99" ;;
            124|137) problem="hang (timeout ${timeout_s}s)" ;;
            78)  problem="config error (exit 78)" ;;
            64)  problem="usage error (exit 64)" ;;
            *)   if (( rc > 128 )); then problem="crash (signal $((rc - 128)))"; else problem="unexpected exit $rc"; fi ;;
        esac
        verdict=$(json_verdict "$out")
        reasons=$(json_reasons "$out")
        [[ -z $reasons ]] && reasons=$(json_results "$out")
        if [[ -z $problem && -z $verdict ]]; then problem="no JSON report / no verdict on stdout (exit $rc)"; fi
        if [[ -z $problem ]]; then
            case $verdict in
                none|pass|fail|policy|neutral|temperror|permerror) ;;
                *) problem="unknown verdict '$verdict'" ;;
            esac
        fi
        got="got=${verdict:-?} exit=$rc reason=\"$(short "$reasons" 160)\""
        if [[ -n $problem ]]; then
            crash=$((crash + 1)); fail=$((fail + 1))
            case $problem in crash*|hang*|internal*) label=CRASH ;; *) label=ERROR ;; esac
            echo "  $label     $f [$cat] $problem"
            echo "            expected: $(short "$exp")"
            sed -n '1,6s/^/            stderr: /p' "$err"
            continue
        fi
        # ---- judge by category --------------------------------------------
        res=agree
        case $cat in
            VALID)               [[ $verdict == pass ]] || res=soft ;;
            INVALID|ATTACK)      [[ $verdict == pass ]] && res=hard ;;
            UNSIGNED)            if [[ $verdict == pass ]]; then res=hard; elif [[ $verdict != none ]]; then res=soft; fi ;;
            ENCRYPTED)           if [[ $verdict == pass ]]; then res=hard; elif [[ $verdict != none && $verdict != neutral ]]; then res=soft; fi ;;
            REVOCATION)          [[ $verdict == pass ]] && res=revoc ;;
            ROBUST)              res=agree ;;
            *)                   res=info ;;
        esac
        if [[ $res == soft ]]; then
            if [[ -n ${known["$rel"$'\t'"$verdict"]+x} ]]; then
                res=known; why_known=${known["$rel"$'\t'"$verdict"]}
            elif [[ $verdict != pass && -n ${known["$rel"$'\t*']+x} ]]; then
                res=known; why_known=${known["$rel"$'\t*']}
            fi
        fi
        case $res in
            agree)
                agree=$((agree + 1))
                if [[ $cat == ROBUST || ${SMIME_CORPUS_VERBOSE:-0} == 1 ]]; then
                    echo "  ok        $f [$cat] $got"
                fi ;;
            known)
                kn=$((kn + 1))
                echo "  KNOWN     $f [$cat] $got"
                echo "            expected: $(short "$exp")"
                echo "            known difference: $(short "$why_known" 160)" ;;
            soft)
                soft=$((soft + 1))
                echo "  DISAGREE  $f [$cat] $got"
                echo "            expected: $(short "$exp")" ;;
            revoc)
                revoc=$((revoc + 1))
                echo "  NEEDS-REVOCATION  $f [$cat] $got"
                echo "            expected: $(short "$exp")" ;;
            info)
                info=$((info + 1))
                echo "  info      $f [$cat] $got"
                echo "            expected: $(short "$exp")  ($(short "$note" 100))" ;;
            hard)
                fail=$((fail + 1))
                echo "  FAIL      $f [$cat] $got  <-- pass on a message that must not pass"
                echo "            expected: $(short "$exp")" ;;
        esac
    done < "$list"

    table+=("$(printf '%-22s %8d %6d %6d %9d %6d %5d %6d %5d' "$source" "$n" "$agree" "$kn" "$soft" "$revoc" "$info" "$crash" "$fail")")
    total_msgs=$((total_msgs + n))
    total_agree=$((total_agree + agree)); total_known=$((total_known + kn)); total_crash=$((total_crash + crash))
    total_pass=$((total_pass + agree + kn))
    total_fail=$((total_fail + fail))
    total_soft=$((total_soft + soft))
    total_revoc=$((total_revoc + revoc))
    total_info=$((total_info + info))
done < "$sources_tsv"

(( list_only )) && exit 0

echo
echo "Agreement table (agree = verdict fits the category; known = listed in known-differences.tsv;"
echo "disagree = stricter than the corpus, not a failure; revoc = pass on a PKITS revocation case;"
echo "info = OTHER, not judged; crash = crash/hang/exit 70/no report; fail = hard failures incl. crash)"
printf '%-22s %8s %6s %6s %9s %6s %5s %6s %5s\n' source messages agree known disagree revoc info crash fail
for row in "${table[@]}"; do echo "$row"; done
printf '%-22s %8d %6d %6d %9d %6d %5d %6d %5d\n' TOTAL "$total_msgs" "$total_agree" "$total_known" "$total_soft" "$total_revoc" "$total_info" "$total_crash" "$total_fail"
echo "($total_soft soft disagreements, $total_revoc needs-revocation, $total_info informational: not counted below)"
echo "$total_pass passed, $total_fail failed"

if (( total_msgs == 0 )); then
    skip_or_fail "no corpus message was run"
fi
(( total_fail == 0 )) || exit 1
exit 0
