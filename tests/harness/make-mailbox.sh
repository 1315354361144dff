#!/bin/bash
# Fills a Maildir with the fixed test messages the integration suites rely on,
# and writes a description (number, POP3 LIST size, file, subject) beside it.
#
# usage: make-mailbox.sh MAILDIR PROFILE DESCFILE
#   PROFILE main   the seven messages described in tests/harness (alice)
#           small  three short messages "bob-1".."bob-3" (bob, may be deleted)
#           empty  no messages
#           bulk   HARNESS_BULK_COUNT (default 2000) messages of about 20 KiB
#                  each, for bench/ (the many-small-messages case)
#           bigmany  HARNESS_BIGMANY_COUNT (default 20) messages of about
#                  HARNESS_BIGMANY_BYTES (default 5 MiB) each, for
#                  bench/peers.sh (the few-big-messages case)
#           files  every *.eml file of HARNESS_MAIL_FILES_DIR, in name order,
#                  CRs removed (mail a suite made with real tools, e.g.
#                  openssl smime)
#
# HARNESS_BIG_BYTES sets the wire size of the big message (main, number 7),
# give or take a line; the default is 50 MiB. bench/ asks for 1 GiB.
#
# Files are written with LF line ends, as an MTA would store them; Dovecot
# turns every LF into CRLF on the wire, so the size POP3 LIST reports is the
# file size plus one byte per LF. That holds only while no file contains a CR,
# which deliver() checks.

set -eu

if [ $# -ne 3 ]; then
	echo "usage: $0 MAILDIR PROFILE DESCFILE" >&2
	exit 2
fi
maildir=$1
profile=$2
desc=$3

# Dovecot numbers new Maildir files by the timestamp at the start of their
# names (then the rest of the name), not by readdir order, so fixed, rising
# timestamps make message numbers stable whatever the file system does.
base_time=1700000000
count=0
big_bytes=${HARNESS_BIG_BYTES:-$((50 * 1024 * 1024))}
case $big_bytes in
'' | *[!0-9]*)
	echo "make-mailbox: HARNESS_BIG_BYTES must be a number of bytes, not '$big_bytes'" >&2
	exit 2
	;;
esac
big_bytes=$((10#$big_bytes))

mkdir -p "$maildir/new" "$maildir/cur" "$maildir/tmp"
printf '# %s\n' \
	"Test mailbox '$profile' made by make-mailbox.sh. Fields (tab-separated):" \
	"number, size as POP3 LIST reports it (CRLF line ends, before dot-stuffing)," \
	"Maildir file, subject (decoded)." >"$desc"

# Writes the message that function $2 prints as the next one; $1 is its
# subject as it should appear in the description.
deliver() {
	local subject=$1 make=$2 name tmp bytes lines
	count=$((count + 1))
	name="$((base_time + count)).M${count}P0.spop-harness"
	tmp="$maildir/tmp/$name"
	"$make" >"$tmp"
	if LC_ALL=C grep -q $'\r' "$tmp"; then
		echo "make-mailbox: message $count contains CR; its size would be wrong" >&2
		exit 1
	fi
	bytes=$(stat -c %s "$tmp")
	lines=$(wc -l <"$tmp")
	touch -d "@$((base_time + count))" "$tmp"
	# Maildir delivery: complete the file in tmp/, then rename into new/.
	mv "$tmp" "$maildir/new/$name"
	printf '%d\t%d\tnew/%s\t%s\n' "$count" "$((bytes + lines))" "$name" "$subject" >>"$desc"
}

# Prints a line of $1 bytes of character $2 without a newline.
repeat() {
	head -c "$1" /dev/zero | tr '\0' "$2"
}

msg_simple() {
	cat <<'EOF'
Return-Path: <alice@example.org>
Message-ID: <simple.1@example.org>
Date: Mon, 15 Jan 2024 10:00:00 +0100
From: "Alice Example" <alice@example.org>
To: "Doe, John" <john.doe@example.com>, Jane Roe <jane.roe@example.net>
Cc: Carol <carol@example.com>
Reply-To: "Alice (replies)" <replies@example.org>
Subject: Simple message
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Hello John and Jane,
this is the first test message.
Alice
EOF
}

# Lines starting with '.' must be dot-stuffed by the server; the last line
# has no newline in the file, so the server has to add CRLF before ".".
msg_dots() {
	cat <<'EOF'
Message-ID: <dots.2@example.org>
Date: Mon, 15 Jan 2024 10:01:00 +0100
From: "Alice Example" <alice@example.org>
To: bob@example.org
Subject: Dots
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Lines below start with dots.
.leading dot
..
.x
.
between the lone dots
...three dots
EOF
	printf 'last line without newline'
}

msg_long() {
	cat <<'EOF'
Message-ID: <long.3@example.org>
Date: Mon, 15 Jan 2024 10:02:00 +0100
From: "Alice Example" <alice@example.org>
To: bob@example.org
Subject: Long lines
X-Folded: the first part of a folded header,
 continued after a space,
	continued after a tab,
 	and after a space and a tab.
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Three long lines follow: 3000, 10000 and 100000 bytes.
EOF
	repeat 3000 a
	echo
	repeat 10000 b
	echo
	repeat 100000 c
	echo
	echo 'end'
}

msg_8bit() {
	cat <<'EOF'
Message-ID: <8bit.4@example.org>
Date: Mon, 15 Jan 2024 10:03:00 +0100
From: =?ISO-8859-1?Q?J=F6rg_M=FCller?= <joerg@example.de>
To: "Alice Example" <alice@example.org>
Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4g4pyT?=
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Grüße aus Köln ✓
Äpfel, Öl, Übermut; € 日本語
EOF
}

# Only the headers of the S/MIME messages matter (MessageSigned and
# MessageEncrypted checks); the parts are placeholders, not CMS data.
msg_signed() {
	cat <<'EOF'
Message-ID: <signed.5@example.org>
Date: Mon, 15 Jan 2024 10:04:00 +0100
From: "Alice Example" <alice@example.org>
To: bob@example.org
Subject: Signed
MIME-Version: 1.0
Content-Type: multipart/signed; protocol="application/pkcs7-signature";
 micalg=sha-256; boundary="----=_spop_signed"

This is an S/MIME signed message.

------=_spop_signed
Content-Type: text/plain; charset=us-ascii

Signed text (the signature below is a placeholder).
------=_spop_signed
Content-Type: application/pkcs7-signature; name=smime.p7s
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename=smime.p7s

cGxhY2Vob2xkZXIsIG5vdCBhIENNUyBzaWduYXR1cmUK
------=_spop_signed--
EOF
}

msg_enveloped() {
	cat <<'EOF'
Message-ID: <enveloped.6@example.org>
Date: Mon, 15 Jan 2024 10:05:00 +0100
From: "Alice Example" <alice@example.org>
To: bob@example.org
Subject: Enveloped
MIME-Version: 1.0
Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename=smime.p7m

cGxhY2Vob2xkZXIsIG5vdCBDTVMgZW52ZWxvcGVkLWRhdGEK
EOF
}

# HARNESS_BIG_BYTES on the wire: base64 -w 76 turns every 57 random bytes
# into a 77-byte line (78 with CRLF), without a shell loop. Whole 57-byte
# groups keep the last line full length.
# shellcheck disable=SC2017
msg_big() {
	cat <<'EOF'
Message-ID: <big.7@example.org>
Date: Mon, 15 Jan 2024 10:06:00 +0100
From: "Alice Example" <alice@example.org>
To: bob@example.org
Subject: big
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

EOF
	head -c $((big_bytes / 78 * 57)) /dev/urandom | base64 -w 76
}

# One of the bulk messages: about 20 KiB of base64 text (270 lines of 76).
msg_bulk() {
	printf '%s\n' "Message-ID: <bulk.$count@example.org>" \
		"Date: Mon, 15 Jan 2024 12:00:00 +0100" \
		"From: \"Alice Example\" <alice@example.org>" \
		"To: bulk@example.org" "Subject: bulk-$count" "MIME-Version: 1.0" \
		"Content-Type: text/plain; charset=us-ascii" ""
	head -c $((270 * 57)) /dev/urandom | base64 -w 76
}

# One of the bigmany messages: HARNESS_BIGMANY_BYTES on the wire, give or
# take a line, of base64 text in 77-byte lines (78 with CRLF), as msg_big.
# shellcheck disable=SC2017
msg_bigmany() {
	local bytes=${HARNESS_BIGMANY_BYTES:-$((5 * 1024 * 1024))}
	printf '%s\n' "Message-ID: <bigmany.$count@example.org>" \
		"Date: Mon, 15 Jan 2024 13:00:00 +0100" \
		"From: \"Alice Example\" <alice@example.org>" \
		"To: bigmany@example.org" "Subject: bigmany-$count" "MIME-Version: 1.0" \
		"Content-Type: text/plain; charset=us-ascii" ""
	head -c $((bytes / 78 * 57)) /dev/urandom | base64 -w 76
}

msg_bob1() { msg_bob 1; }
msg_bob2() { msg_bob 2; }
msg_bob3() { msg_bob 3; }
msg_bob() {
	cat <<EOF
Message-ID: <bob.$1@example.org>
Date: Mon, 15 Jan 2024 11:0$1:00 +0100
From: "Alice Example" <alice@example.org>
To: bob@example.org
Subject: bob-$1
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Message $1 for bob.
EOF
}

case $profile in
main)
	deliver "Simple message" msg_simple
	deliver "Dots" msg_dots
	deliver "Long lines" msg_long
	deliver "Grüße aus Köln ✓" msg_8bit
	deliver "Signed" msg_signed
	deliver "Enveloped" msg_enveloped
	deliver "big" msg_big
	;;
small)
	deliver "bob-1" msg_bob1
	deliver "bob-2" msg_bob2
	deliver "bob-3" msg_bob3
	;;
empty) ;;
bulk)
	n=${HARNESS_BULK_COUNT:-2000}
	for ((i = 0; i < n; i++)); do
		deliver "bulk" msg_bulk
	done
	;;
bigmany)
	n=${HARNESS_BIGMANY_COUNT:-20}
	for ((i = 0; i < n; i++)); do
		deliver "bigmany" msg_bigmany
	done
	;;
files)
	files_dir=${HARNESS_MAIL_FILES_DIR:?make-mailbox: the files profile needs HARNESS_MAIL_FILES_DIR}
	shopt -s nullglob
	mail_files=("$files_dir"/*.eml)
	if [ ${#mail_files[@]} -eq 0 ]; then
		echo "make-mailbox: no *.eml in $files_dir" >&2
		exit 1
	fi
	for mail_file in "${mail_files[@]}"; do
		msg_file() { tr -d '\r' <"$mail_file"; }
		deliver "$(basename "$mail_file" .eml)" msg_file
	done
	;;
*)
	echo "make-mailbox: unknown profile '$profile' (main, small, empty, bulk, bigmany, files)" >&2
	exit 2
	;;
esac
