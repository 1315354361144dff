#!/bin/sh
# Checks that the places that carry libspop's version agree with
# meson.build's project version (README.md, "Releases"): NEWS's top entry
# ("libspop 0.1.0 (unreleased)" or "libspop 0.1.0 (2027-01-15)") and the
# upstream part of debian/changelog's top entry ("libspop (0.1.0-1) ...",
# without epoch and Debian revision); and that both say whether it is
# released: a date in NEWS goes with a distribution (unstable) in
# debian/changelog, "(unreleased)" with UNRELEASED.
#
# usage: check-version.sh VERSION SOURCEDIR
set -eu

if [ $# -ne 2 ]; then
	echo "usage: $0 VERSION SOURCEDIR" >&2
	exit 2
fi
version=$1
src=$2
status=0

news=$(sed -n '1s/^libspop \([^ ]*\) (.*)$/\1/p' "$src/NEWS")
if [ "$news" = "$version" ]; then
	echo "ok: NEWS's top entry is $version"
else
	echo "FAIL: NEWS's top entry is '$news' (first line: '$(head -n1 "$src/NEWS")'), meson.build says $version" >&2
	status=1
fi

# dpkg-parsechangelog reads the entry as dpkg-buildpackage will (dpkg-dev
# is installed wherever this runs: the test command and the package build).
command -v dpkg-parsechangelog >/dev/null || {
	echo "FAIL: dpkg-parsechangelog is missing (apt-get install dpkg-dev)" >&2
	exit 1
}
full=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
upstream=${full#*:}
upstream=${upstream%-*}
if [ -n "$full" ] && [ "$upstream" = "$version" ]; then
	echo "ok: debian/changelog's top entry is $full, upstream $version"
else
	echo "FAIL: debian/changelog's top entry is '$full' (upstream '$upstream'), meson.build says $version" >&2
	status=1
fi
# A release is dated in NEWS and has a distribution in debian/changelog;
# work towards one is "(unreleased)" in NEWS and UNRELEASED there.
dist=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Distribution)
case $(head -n1 "$src/NEWS") in
*'(unreleased)') news_released=no ;;
*) news_released=yes ;;
esac
if [ "$dist" = UNRELEASED ]; then changelog_released=no; else changelog_released=yes; fi
if [ "$news_released" = "$changelog_released" ]; then
	echo "ok: NEWS and debian/changelog agree that $version is released: $news_released"
else
	echo "FAIL: NEWS's top entry says released: $news_released; debian/changelog's distribution '$dist' says: $changelog_released" >&2
	status=1
fi
exit $status
