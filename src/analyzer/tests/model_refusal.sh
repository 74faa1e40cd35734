#!/bin/sh
# model_refusal.sh GEN_MODEL MODELS_DIR - the build-time model checker must
# accept the committed models and refuse damaged copies of them, each with
# a message naming the fault.
set -u
gen=$1
dir=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
pass=0

ok() {	# ok NAME CLASSES LANES FILE
	if "$gen" "$4" "$1" "$2" "$3" "$tmp/out.c" "$tmp/out.S" 2>"$tmp/err"; then
		pass=$((pass + 1))
	else
		echo "model_refusal: $4 refused:"; cat "$tmp/err"; fail=$((fail + 1))
	fi
}

refuse() {	# refuse WHAT EXPECTED-MESSAGE NAME CLASSES LANES FILE
	if "$gen" "$6" "$3" "$4" "$5" "$tmp/out.c" "$tmp/out.S" 2>"$tmp/err"; then
		echo "model_refusal: $1: accepted, expected a refusal"; fail=$((fail + 1))
	elif grep -q "$2" "$tmp/err"; then
		pass=$((pass + 1))
	else
		echo "model_refusal: $1: message lacks \"$2\":"; cat "$tmp/err"; fail=$((fail + 1))
	fi
}

# patch FILE OFFSET HEXBYTE: overwrite one byte
patch() {
	printf "\\$(printf '%03o' "$3")" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

S="negative,neutral,positive"
E="neutral,anger,disgust,fear,joy,sadness,surprise"
ok social "$S" 4 "$dir/social.samodel"
ok emotion "$E" 8 "$dir/emotion.samodel"

# one weight byte changed deep in the table
cp "$dir/social.samodel" "$tmp/m"; patch "$tmp/m" 100000 0x55
cmp -s "$tmp/m" "$dir/social.samodel" || true
refuse "flipped weight" "checksum mismatch" social "$S" 4 "$tmp/m"
# a header field changed (the version) without a new checksum
cp "$dir/social.samodel" "$tmp/m"; patch "$tmp/m" 32 0x63
refuse "edited header" "checksum mismatch" social "$S" 4 "$tmp/m"
# truncated
head -c 200000 "$dir/social.samodel" >"$tmp/m"
refuse "truncated" "header declares" social "$S" 4 "$tmp/m"
head -c 100 "$dir/social.samodel" >"$tmp/m"
refuse "header only" "bad magic" social "$S" 4 "$tmp/m"
# bad magic, future format
cp "$dir/social.samodel" "$tmp/m"; patch "$tmp/m" 0 0x58
refuse "bad magic" "bad magic" social "$S" 4 "$tmp/m"
cp "$dir/social.samodel" "$tmp/m"; patch "$tmp/m" 8 0x07
refuse "format version" "format version 7" social "$S" 4 "$tmp/m"
# the emotion model's top-label calibration (eighth scale) made huge
cp "$dir/emotion.samodel" "$tmp/m"; patch "$tmp/m" 127 0x7f
refuse "calibration" "top-label calibration" emotion "$E" 8 "$tmp/m"
# the emotion file where the social model is expected, wrong classes, lanes
refuse "wrong model" "model name" social "$S" 4 "$dir/emotion.samodel"
refuse "wrong classes" "classes" social "positive,neutral,negative" 4 "$dir/social.samodel"
refuse "wrong lanes" "lanes" social "$S" 8 "$dir/social.samodel"
# not there at all
refuse "missing" "cannot open" social "$S" 4 "$tmp/none"

echo "model_refusal: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
