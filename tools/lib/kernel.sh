# shellcheck shell=bash
# Helpers for the scripts in tools/ that build a boot image from Debian's stock
# kernel package. Source it after common.sh; it defines functions and the
# variables they set, so sourcing it has no side effects. The callers put
# /usr/sbin and /sbin on PATH (depmod lives there) and install kmod,
# busybox-static, cpio and gzip first (and xz-utils for kvmm_extract_vmlinux).
#
#   kvmm_kernel_resolve VAR  set kvmm_kernel_pkg: $VAR if that variable is set,
#                            else the package linux-image-amd64 depends on
#                            (e.g. linux-image-6.1.0-56-amd64); VAR is named in
#                            the error messages as the way to override it
#   kvmm_kernel_fetch DIR    unpack $kvmm_kernel_pkg into DIR/root and run
#                            depmod there; set kvmm_kernel_version (uname -r),
#                            kvmm_kernel_vmlinuz (the bzImage) and
#                            kvmm_kernel_moddir (lib/modules/<version>). The .deb
#                            is kept in $KVMM_KERNEL_DEB_DIR (default
#                            build/kernel-deb) and reused while it is apt's
#                            candidate version, so the tools share one download
#   kvmm_module_order MODDIR NAME...
#                            set kvmm_load_order to NAME... and their
#                            dependencies (from MODDIR/modules.dep), each after
#                            what it needs; built-in modules are left out and
#                            listed in kvmm_builtin_wanted; dies if a module is
#                            neither. kvmm_mod_path maps a name to its file,
#                            relative to MODDIR
#   kvmm_modules_install MODDIR DEST
#                            put the modules of kvmm_load_order in DEST as plain
#                            NAME.ko (what busybox insmod reads) and their
#                            order, one file name a line, in DEST/load-order
#   kvmm_extract_vmlinux BZIMAGE OUT
#                            write the uncompressed ELF kernel inside an
#                            xz-compressed bzImage to OUT
#   kvmm_busybox_install DIR put busybox-static at DIR/bin/busybox, with sh
#   kvmm_initramfs_pack DIR OUT
#                            write DIR as a gzip-compressed newc cpio to OUT

# kvmm_modname VAR NAME: set VAR to the module name NAME stands for. Names in
# modules.dep are paths (kernel/fs/9p/9p.ko.xz), in modules.builtin too, and
# users write kvm-amd or kvm_amd: compare them as the kernel does, by base name
# with '-' as '_'. It assigns rather than prints because it runs for every line
# of modules.dep, and a command substitution per line costs seconds.
kvmm_modname() {
    local _kvmm_n=${2##*/}
    _kvmm_n=${_kvmm_n%%.ko*}
    printf -v "$1" '%s' "${_kvmm_n//-/_}"
}

kvmm_kernel_pkg='' kvmm_kernel_pkg_var=''
kvmm_kernel_resolve() {
    local var=$1
    kvmm_kernel_pkg_var=$var
    kvmm_kernel_pkg=${!var:-}
    [[ -n $kvmm_kernel_pkg ]] && return 0
    # linux-image-amd64 is a metapackage; the versioned package it depends on
    # holds the kernel.
    kvmm_kernel_pkg=$(kvmm_kernel_depends)
    if [[ -z $kvmm_kernel_pkg ]]; then
        # A fresh machine may have no package lists yet.
        ((EUID == 0)) || kvmm_die "apt-cache knows no linux-image-amd64; run 'apt-get update' as root, then rerun"
        [[ ${KVMM_NO_INSTALL:-0} == 0 ]] ||
            kvmm_die "apt-cache knows no linux-image-amd64 and KVMM_NO_INSTALL is set, so apt-get update is not run here; run it, then rerun: sudo apt-get update"
        apt-get update -qq || kvmm_die "apt-get update failed; check the network and /etc/apt/sources.list"
        kvmm_kernel_pkg=$(kvmm_kernel_depends)
    fi
    [[ -n $kvmm_kernel_pkg ]] || kvmm_die "cannot tell which kernel linux-image-amd64 depends on (apt-cache depends linux-image-amd64); set $var=linux-image-<version>-amd64"
}

kvmm_kernel_depends() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n1
}

kvmm_kernel_version='' kvmm_kernel_vmlinuz='' kvmm_kernel_moddir=''
kvmm_kernel_fetch() {
    local dir=$1 pkg=$kvmm_kernel_pkg
    local debdir=${KVMM_KERNEL_DEB_DIR:-$KVMM_ROOT/build/kernel-deb}
    local lock candidate deb='' f tmp debs vmlinuzes
    mkdir -p -- "$debdir" || kvmm_die "cannot create $debdir; check permissions"
    # Two builds may start at once; the second waits and reuses the download.
    exec {lock}>"$debdir/.lock"
    flock -w 1800 "$lock" || kvmm_die "waited 30 min for the lock on $debdir/.lock; is another build stuck?"

    # A kept .deb is good while it is the version apt would download now. When
    # apt cannot say (no package lists, offline), a kept one is better than none.
    candidate=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | sed -n 's/^Version: //p' | head -n1)
    for f in "$debdir/${pkg}"_*.deb; do
        [[ -f $f ]] || continue
        if [[ -z $candidate || $(dpkg-deb -f "$f" Version 2>/dev/null) == "$candidate" ]]; then
            deb=$f
            break
        fi
    done

    if [[ -z $deb ]]; then
        local apt_opts=()
        # As root, apt drops to the _apt user to download and warns that it
        # cannot write here; downloading as root into our own folder is what
        # we want.
        ((EUID == 0)) && apt_opts=(-o APT::Sandbox::User=root)
        # Into a folder of its own, so that an interrupted download leaves no
        # .deb that looks complete.
        # The package is about 70 MB. On a terminal, show apt's own progress
        # line; apt turns it off when its stdout is not a terminal, so it is
        # asked for with quiet=0 and sent to stderr. Logs get none of it.
        local quiet=(-qq)
        if [[ -t 2 ]]; then
            quiet=(-o quiet=0)
            kvmm_note "downloading $pkg into $debdir (once; later builds reuse it)"
        fi
        tmp=$(mktemp -d "$debdir/tmp.XXXXXX")
        if ! (cd "$tmp" && apt-get "${apt_opts[@]}" "${quiet[@]}" download "$pkg" >&2); then
            rm -rf -- "$tmp"
            kvmm_die "apt-get download $pkg failed; run 'apt-get update' and retry, or set $kvmm_kernel_pkg_var"
        fi
        debs=("$tmp"/*.deb)
        if [[ ! -f ${debs[0]} ]]; then
            rm -rf -- "$tmp"
            kvmm_die "apt-get download $pkg produced no .deb"
        fi
        # Older versions of this package are of no further use.
        rm -f -- "$debdir/${pkg}"_*.deb
        deb=$debdir/${debs[0]##*/}
        mv -f -- "${debs[0]}" "$deb"
        rm -rf -- "$tmp"
    fi
    if ! dpkg -x "$deb" "$dir/root"; then
        # A damaged file would fail every later run too.
        rm -f -- "$deb"
        kvmm_die "dpkg -x $deb failed (disk full or a damaged download, which was removed); rerun"
    fi
    exec {lock}>&-

    vmlinuzes=("$dir"/root/boot/vmlinuz-*)
    [[ -f ${vmlinuzes[0]} ]] || kvmm_die "$pkg has no boot/vmlinuz-*; is it a kernel image package?"
    kvmm_kernel_vmlinuz=${vmlinuzes[0]}
    kvmm_kernel_version=${kvmm_kernel_vmlinuz##*/vmlinuz-}
    kvmm_kernel_moddir=$dir/root/lib/modules/$kvmm_kernel_version
    [[ -d $kvmm_kernel_moddir ]] || kvmm_die "$pkg has no lib/modules/$kvmm_kernel_version"

    # The .deb ships no modules.dep (the postinst makes it); make it here.
    depmod -b "$dir/root" "$kvmm_kernel_version" || kvmm_die "depmod -b $dir/root $kvmm_kernel_version failed"
}

kvmm_load_order=() kvmm_builtin_wanted=()
declare -A kvmm_mod_path=()
kvmm_module_order() {
    local moddir=$1 line name
    shift
    # Read by kvmm_module_visit (bash's scoping is dynamic).
    local -A deps=() builtin=() visited=()
    kvmm_load_order=() kvmm_builtin_wanted=() kvmm_mod_path=()
    while IFS= read -r line; do
        [[ -n $line ]] || continue
        kvmm_modname name "${line%%:*}"
        kvmm_mod_path[$name]=${line%%:*}
        deps[$name]=${line#*:}
    done <"$moddir/modules.dep"
    if [[ -f $moddir/modules.builtin ]]; then
        while IFS= read -r line; do
            kvmm_modname name "$line"
            builtin[$name]=1
        done <"$moddir/modules.builtin"
    fi
    for name in "$@"; do
        kvmm_modname name "$name"
        [[ -n ${builtin[$name]:-} ]] && kvmm_builtin_wanted+=("$name")
        kvmm_module_visit "$name"
    done
}

# Depth-first: every dependency before the module itself.
kvmm_module_visit() {
    local name=$1 dep depname
    [[ -n ${visited[$name]:-} ]] && return 0
    visited[$name]=1
    if [[ -n ${builtin[$name]:-} ]]; then return 0; fi
    # shellcheck disable=SC2154 # kvmm_prog comes from common.sh
    [[ -n ${kvmm_mod_path[$name]:-} ]] ||
        kvmm_die "module $name is neither in $kvmm_kernel_pkg's modules.dep nor built in; the kernel changed: update 'wanted' in tools/$kvmm_prog"
    for dep in ${deps[$name]}; do
        kvmm_modname depname "$dep"
        kvmm_module_visit "$depname"
    done
    kvmm_load_order+=("$name")
}

kvmm_modules_install() {
    local moddir=$1 dest=$2 name src
    mkdir -p -- "$dest" || kvmm_die "cannot create $dest"
    : >"$dest/load-order"
    for name in "${kvmm_load_order[@]}"; do
        src=$moddir/${kvmm_mod_path[$name]}
        # busybox insmod reads plain .ko files; decompress here if the kernel
        # package ships compressed modules.
        case $src in
            *.ko) cp -- "$src" "$dest/$name.ko" ;;
            *.ko.xz) xz -dc -- "$src" >"$dest/$name.ko" ;;
            *.ko.gz) gzip -dc -- "$src" >"$dest/$name.ko" ;;
            *.ko.zst) zstd -qdc -- "$src" >"$dest/$name.ko" ;;
            *) kvmm_die "unknown module file type: $src" ;;
        esac || kvmm_die "cannot unpack module $src"
        printf '%s.ko\n' "$name" >>"$dest/load-order"
    done
}

# The bzImage's payload is the kernel's ELF image, compressed. Like the
# kernel's scripts/extract-vmlinux, try each place where the xz magic appears
# until one decompresses to an ELF file: the magic may also occur by chance.
# --single-stream stops at the end of the payload instead of failing on the
# bytes that follow it.
kvmm_extract_vmlinux() {
    local bz=$1 out=$2 off magic
    while IFS=: read -r off _; do
        xz -dc --single-stream < <(tail -c "+$((off + 1))" -- "$bz") >"$out" 2>/dev/null || continue
        magic=$(head -c 4 -- "$out" | od -An -tx1 | tr -d ' \n')
        [[ $magic == 7f454c46 ]] && return 0
    done < <(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' -- "$bz")
    rm -f -- "$out"
    kvmm_die "found no xz-compressed ELF kernel in $bz (is the kernel compressed with something else than xz?)"
}

kvmm_busybox_install() {
    local dir=$1 busybox
    busybox=$(dpkg-query -L busybox-static | grep -m1 -E '/s?bin/busybox$') ||
        kvmm_die "busybox-static is installed but its busybox binary was not found; reinstall: apt-get install --reinstall busybox-static"
    mkdir -p -- "$dir/bin"
    cp -- "$busybox" "$dir/bin/busybox"
    ln -s busybox "$dir/bin/sh"
}

# Stable order and root ownership, so the archive depends only on its inputs.
kvmm_initramfs_pack() {
    local dir=$1 out=$2
    (cd "$dir" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
        cpio --null -o -H newc -R 0:0 --quiet) | gzip -6 >"$out" ||
        kvmm_die "cannot build the initramfs (cpio/gzip failed; disk full?)"
}
