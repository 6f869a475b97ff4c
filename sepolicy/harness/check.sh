#!/bin/sh
# Compiles this project's SELinux additions (../*.te) stand-alone, against the stand-in AOSP
# declarations and macros in this directory, and checks ../property_contexts and
# ../service_contexts against the result.
#
# Usage: check.sh [EXTRA.te]
#   EXTRA.te, if given, is appended after the project's .te files (the tests use it to inject
#   rules that must be refused).
#
# Set LMKD_SEPOLICY_CONF=<path> to keep the assembled policy.conf.
#
# Exit status: 0 when everything compiles and checks out; 1 with checkpolicy's (or the
# contexts check's) message on stderr otherwise; 2 on a usage error or a missing tool.
#
# Needs m4 and checkpolicy (Debian/Ubuntu: apt-get install m4 checkpolicy).

set -u

here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd) || exit 2
policy_dir=$(dirname -- "$here")

if [ $# -gt 1 ]; then
    echo "usage: $0 [EXTRA.te]" >&2
    exit 2
fi
extra=
if [ $# -eq 1 ]; then
    case $1 in
        /*) extra=$1 ;;
        *) extra=$(pwd)/$1 ;;
    esac
    if [ ! -r "$extra" ]; then
        echo "$0: cannot read $1" >&2
        exit 2
    fi
fi

for tool in m4 checkpolicy; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "$0: $tool is not installed (Debian/Ubuntu: apt-get install m4 checkpolicy)" >&2
        exit 2
    fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/lmkd-sepolicy.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

cd "$policy_dir" || exit 2

# 1. The type enforcement part through m4, as AOSP builds it: the stand-in macros, the
#    stand-in AOSP declarations, the project's .te files, then the extra file. -s emits #line
#    directives, so checkpolicy's messages name the original file and line.
set -- harness/te_macros harness/aosp_stubs.te
for te in *.te; do
    [ -e "$te" ] && set -- "$@" "$te"
done
[ -n "$extra" ] && set -- "$@" "$extra"
if ! m4 --fatal-warnings -s "$@" >"$work/te.conf" 2>"$work/m4.err"; then
    cat "$work/m4.err" >&2
    echo "FAILED: m4 could not expand the policy" >&2
    exit 1
fi

# 2. The contexts files: well-formed lines whose types the policy declares. For every type
#    they use, a probe rule and a neverallow are generated so that checkpolicy also verifies
#    the type's attribute: property types must be property_type, service types
#    service_manager_type.
awk -v probes="$work/probes.te" -v conf="$work/te.conf" '
    FNR == 1 { file = FILENAME }
    file == conf {
        if (match($0, /^[ \t]*type[ \t]+[A-Za-z0-9_]+/)) {
            t = substr($0, RSTART, RLENGTH)
            sub(/^[ \t]*type[ \t]+/, "", t)
            declared[t] = 1
        }
        next
    }
    /^[ \t]*(#|$)/ { next }
    {
        where = file ":" FNR
        ctx = $2
        n = split(ctx, part, ":")
        if (n != 4 || part[1] != "u" || part[2] != "object_r" || part[4] != "s0") {
            print where ": context \"" ctx "\" is not u:object_r:<type>:s0" > "/dev/stderr"
            bad = 1
            next
        }
        type = part[3]
        if (seen[file, $1]++) {
            print where ": " $1 " is listed twice" > "/dev/stderr"
            bad = 1
        }
        if (file ~ /property_contexts$/) {
            if (NF > 2 && $3 != "exact" && $3 != "prefix") {
                print where ": third field must be exact or prefix, not " $3 > "/dev/stderr"
                bad = 1
            }
            if (NF > 3 && $4 !~ /^(string|int|uint|double|bool|enum)$/) {
                print where ": unknown property value type " $4 > "/dev/stderr"
                bad = 1
            }
            if (NF > 4 && $4 != "enum") {
                print where ": only an enum takes a list of values" > "/dev/stderr"
                bad = 1
            }
            probe = "harness_property_probe"; attr = "property_type"
            class = "file"; perm = "read"
        } else {
            if (NF != 2) {
                print where ": expected \"<service name> <context>\"" > "/dev/stderr"
                bad = 1
            }
            probe = "harness_service_probe"; attr = "service_manager_type"
            class = "service_manager"; perm = "find"
        }
        if (!(type in declared)) {
            print where ": type " type " is not declared in the policy" > "/dev/stderr"
            bad = 1
            next
        }
        # (checkpolicy takes a file name only from "#line 1 <file>", and a line from "#line <n>".)
        printf "#line 1 \"%s\"\n#line %d\nallow %s %s:%s %s; neverallow %s { %s -%s }:%s %s;\n",
            file, FNR, probe, type, class, perm, probe, type, attr, class, perm > probes
    }
    END {
        print "#line 1 \"harness/check.sh\"" > probes
        print "type harness_property_probe;" > probes
        print "type harness_service_probe;" > probes
        exit bad
    }
' "$work/te.conf" property_contexts service_contexts
contexts_status=$?

# 3. The whole policy: classes, SIDs, access vectors, the TE part, the probes, and the
#    role/user/SID tail.
{
    cat harness/security_classes harness/initial_sids harness/access_vectors
    cat "$work/te.conf"
    [ -e "$work/probes.te" ] && cat "$work/probes.te"
    echo '#line 1 "harness/tail.te"'
    cat harness/tail.te
} >"$work/policy.conf"

# LMKD_SEPOLICY_CONF=<path> keeps a copy of the assembled policy.conf (for debugging).
if [ -n "${LMKD_SEPOLICY_CONF:-}" ]; then
    cp "$work/policy.conf" "$LMKD_SEPOLICY_CONF" || exit 2
fi

if ! checkpolicy -c 30 -o /dev/null "$work/policy.conf" >"$work/checkpolicy.out" 2>&1; then
    cat "$work/checkpolicy.out" >&2
    if grep -q 'harness_[a-z]*_probe' "$work/checkpolicy.out"; then
        echo "(a harness_*_probe violation: a type in property_contexts is not a property_type," \
            "or a type in service_contexts is not a service_manager_type)" >&2
    fi
    echo "FAILED: checkpolicy refused the policy" >&2
    exit 1
fi
if [ "$contexts_status" -ne 0 ]; then
    echo "FAILED: property_contexts / service_contexts" >&2
    exit 1
fi
echo "OK: the policy compiles and the contexts files check out"
