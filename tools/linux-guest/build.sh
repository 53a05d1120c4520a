#!/bin/sh
# Builds what the Linux guest needs, cached under target/linux-guest/:
#   vmlinuz           Debian's stock arm64 kernel (linux-image, bookworm-backports)
#   initramfs.cpio.gz busybox-static (arm64), the kernel modules, /init and
#                     the test scripts of tools/linux-guest/initramfs
# Modules: virtio_rpmsg_bus, rpmsg_ns, rpmsg_char, rpmsg_ctrl, rpmsg_tty and
# rpmsg_client_sample from Debian's linux-source of the same version,
# unchanged, and our glue (glue/bulkhead_rproc.c), built against Debian's
# linux-headers with the cross compiler; rpmsg_core is Debian's own.
#
# Usage: tools/linux-guest/build.sh [TARGET_DIR]   (default: target/linux-guest)
# Exit status 0: built (or up to date); 3: the packages cannot be fetched
# (the last line says why, starting with "skip:"); anything else: a failure.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$root/target/linux-guest}
mkdir -p "$out"
out=$(cd "$out" && pwd)
# One build at a time (tests may start several).
exec 9>"$out/.lock"
flock 9

# The kernel: Debian 12 backports' 6.12.95 (its ABI name and package version).
abi=6.12.95+deb12
flavour=arm64
release=$abi-$flavour
version=6.12.95-1~bpo12+1
source_package=linux-source-6.12

step() { printf 'linux-guest: %s\n' "$*" >&2; }
skip() { printf 'skip: %s\n' "$*" >&2; exit 3; }
now() { date +%s; }
started=$(now)

# --- host tools --------------------------------------------------------------
need_tools() {
	missing=
	command -v aarch64-linux-gnu-gcc-12 >/dev/null || missing="$missing gcc-aarch64-linux-gnu"
	command -v cpio >/dev/null || missing="$missing cpio"
	command -v pahole >/dev/null || missing="$missing dwarves"
	command -v make >/dev/null || missing="$missing make"
	command -v xz >/dev/null || missing="$missing xz-utils"
	command -v dpkg-deb >/dev/null || skip "dpkg-deb not found: the Linux guest is built from Debian packages"
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" != 0 ]; then
		skip "missing host packages:$missing (install them with apt-get as root)"
	fi
	step "installing$missing"
	apt-get update -qq >/dev/null 2>&1 || true
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null ||
		skip "cannot install$missing with apt-get"
}

# --- packages ----------------------------------------------------------------
# arm64 packages come through a private apt state (lists for arm64 only, of
# the machine's own sources), so the machine's dpkg architectures and apt
# lists stay as they are; the amd64 and all-architecture ones through the
# machine's apt.
debs=$out/debs
apt_dir=$out/apt
arm64_apt() {
	apt-get -q -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir/cache" \
		-o APT::Architecture=arm64 -o APT::Architectures::=arm64 -o Acquire::Languages=none \
		-o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false \
		-o Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false \
		-o Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false \
		-o Debug::NoLocking=1 "$@"
}
have_deb() { ls "$debs"/"$1"_*.deb >/dev/null 2>&1; }
fetch() {
	mkdir -p "$debs" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
	arm64_wanted=
	for p in linux-image-$release linux-headers-$release busybox-static; do
		have_deb "$p" || arm64_wanted="$arm64_wanted $p"
	done
	host_wanted=
	for p in linux-headers-$abi-common linux-kbuild-$abi $source_package; do
		have_deb "$p" || host_wanted="$host_wanted $p"
	done
	[ -z "$arm64_wanted$host_wanted" ] && return 0
	before=$(du -sk "$debs" | cut -f1)
	if [ -n "$arm64_wanted" ]; then
		step "fetching arm64 package lists"
		arm64_apt update >"$out/apt-update.log" 2>&1 || skip "apt-get update for arm64 failed (see $out/apt-update.log)"
		for p in $arm64_wanted; do
			pin=$p:arm64
			[ "$p" = busybox-static ] || pin=$pin=$version
			step "fetching $pin"
			(cd "$debs" && arm64_apt download "$pin" >>"$out/apt-download.log" 2>&1) ||
				skip "cannot fetch $pin (see $out/apt-download.log)"
		done
	fi
	for p in $host_wanted; do
		step "fetching $p=$version"
		(cd "$debs" && apt-get -q download "$p=$version" >>"$out/apt-download.log" 2>&1) ||
			skip "cannot fetch $p=$version (see $out/apt-download.log; is bookworm-backports among the apt sources?)"
	done
	after=$(du -sk "$debs" | cut -f1)
	step "fetched $(( (after - before) / 1024 )) MiB of packages"
}

# --- unpacking ---------------------------------------------------------------
unpacked=$out/root
headers=$unpacked/usr/src/linux-headers-$release
sources=$out/src/linux-$abi
unpack() {
	if [ ! -e "$unpacked/.done" ]; then
		step "unpacking the kernel, headers, kbuild and busybox"
		rm -rf "$unpacked"
		mkdir -p "$unpacked"
		for p in linux-image-$release linux-headers-$release linux-headers-$abi-common linux-kbuild-$abi busybox-static; do
			dpkg-deb -x "$debs"/"$p"_*.deb "$unpacked"
		done
		# The headers include the common part by its installed path.
		sed -i "s|^include /usr/src/linux-headers-$abi-common/Makefile|include $unpacked/usr/src/linux-headers-$abi-common/Makefile|" \
			"$headers/Makefile"
		touch "$unpacked/.done"
	fi
	if [ ! -e "$sources/.done" ]; then
		step "unpacking the sources of the modules from $source_package"
		rm -rf "$sources"
		mkdir -p "$sources"
		dpkg-deb --fsys-tarfile "$debs"/"$source_package"_*.deb |
			tar -xO ./usr/src/$source_package.tar.xz |
			tar -xJ -C "$sources" --strip-components=1 \
				$source_package/drivers/rpmsg $source_package/drivers/tty/rpmsg_tty.c \
				$source_package/samples/rpmsg/rpmsg_client_sample.c
		touch "$sources/.done"
	fi
}

# --- modules -----------------------------------------------------------------
modules=$out/modules
build_modules() {
	build=$out/build
	mkdir -p "$build/drivers/rpmsg" "$build/drivers/tty" "$build/samples/rpmsg"
	# Stock sources, copied unchanged (cp -p keeps make's view of them).
	for f in virtio_rpmsg_bus.c rpmsg_ns.c rpmsg_char.c rpmsg_char.h rpmsg_ctrl.c rpmsg_internal.h; do
		cp -p "$sources/drivers/rpmsg/$f" "$build/drivers/rpmsg/$f"
	done
	cp -p "$sources/drivers/tty/rpmsg_tty.c" "$build/drivers/tty/"
	cp -p "$sources/samples/rpmsg/rpmsg_client_sample.c" "$build/samples/rpmsg/"
	cp -p "$here/glue/bulkhead_rproc.c" "$here/Kbuild" "$build/"
	step "building the modules against linux-headers-$release"
	t0=$(now)
	make -s -C "$headers" M="$build" -j"$(nproc)" modules >"$out/modules-build.log" 2>&1 || {
		cat "$out/modules-build.log" >&2
		echo "linux-guest: building the modules failed" >&2
		exit 1
	}
	step "modules built in $(( $(now) - t0 )) s"
	rm -rf "$modules"
	mkdir -p "$modules"
	find "$build" -name '*.ko' -exec cp {} "$modules/" \;
	xz -dc "$unpacked/lib/modules/$release/kernel/drivers/rpmsg/rpmsg_core.ko.xz" >"$modules/rpmsg_core.ko"
	for ko in "$modules"/*.ko; do
		magic=$(modinfo_vermagic "$ko")
		case $magic in
		"$release "*) ;;
		*) echo "linux-guest: $ko has vermagic '$magic', not for $release" >&2; exit 1 ;;
		esac
	done
}
# vermagic from the .modinfo section, without the target's modinfo.
modinfo_vermagic() {
	aarch64-linux-gnu-objcopy -O binary --only-section=.modinfo "$1" /dev/stdout 2>/dev/null |
		tr '\0' '\n' | sed -n 's/^vermagic=//p'
}

# --- initramfs ---------------------------------------------------------------
build_initramfs() {
	staging=$out/initramfs
	rm -rf "$staging"
	mkdir -p "$staging/bin" "$staging/dev" "$staging/proc" "$staging/sys" "$staging/tmp" \
		"$staging/lib/modules/$release"
	cp "$unpacked/bin/busybox" "$staging/bin/busybox"
	cp "$here/initramfs/init" "$staging/init"
	cp "$here/initramfs/bulkhead-tests" "$staging/bin/bulkhead-tests"
	chmod 755 "$staging/init" "$staging/bin/bulkhead-tests"
	aarch64-linux-gnu-gcc-12 -static -O2 -Wall -Werror -o "$staging/bin/rpmsg-echo" "$here/initramfs/rpmsg-echo.c"
	for ko in "$modules"/*.ko; do aarch64-linux-gnu-strip --strip-debug -o "$staging/lib/modules/$release/${ko##*/}" "$ko"; done
	(cd "$staging" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -9 >"$out/initramfs.cpio.gz"
	cp "$unpacked/boot/vmlinuz-$release" "$out/vmlinuz"
}

need_tools
fetch
unpack
build_modules
build_initramfs
step "ready in $(( $(now) - started )) s: $out/vmlinuz, $out/initramfs.cpio.gz"
