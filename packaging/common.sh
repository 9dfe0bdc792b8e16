# Shared by the pillbox packages' maintainer scripts: the release tool
# (tools/release) puts it in place of the line that says COMMON between two
# hashes, as debhelper puts its snippets in place of its own token.

# pillbox_user creates the system user and group both services run as. It
# stays after a purge, as Debian's system users do: files left behind
# must not meet its uid given to someone else.
pillbox_user() {
	if ! getent passwd pillbox >/dev/null; then
		adduser --system --group --no-create-home --home /nonexistent --quiet pillbox
	fi
}

# pillbox_statoverride OWNER GROUP MODE FILE: dpkg keeps these over upgrades
# (the group does not exist when the archive is unpacked the first time).
pillbox_statoverride() {
	if ! dpkg-statoverride --list "$4" >/dev/null; then
		dpkg-statoverride --update --add "$1" "$2" "$3" "$4"
	fi
}

# pillbox_secret FILE random|empty creates FILE if it is absent, root:pillbox
# 0640 (the daemon reads it through its group and cannot change it): 32
# random bytes in hex, or empty for a token someone else issues. An existing
# file is never touched.
pillbox_secret() {
	if [ -e "$1" ]; then
		return 0
	fi
	(
		umask 077
		if [ "$2" = random ]; then
			od -An -vtx1 -N32 /dev/urandom | tr -d ' \n' >"$1.new"
			echo >>"$1.new"
		else
			: >"$1.new"
		fi
	)
	chown root:pillbox "$1.new"
	chmod 0640 "$1.new"
	mv "$1.new" "$1"
}

# pillbox_unit UNIT OLD-VERSION yes|no: what debhelper's systemd snippets do.
# With yes the unit is enabled and started on first install; with no it is
# left to the installer, and kept enabled over upgrades if they enabled it.
# An upgrade restarts a running unit.
pillbox_unit() {
	if [ "$3" = yes ] || deb-systemd-helper debian-installed "$1"; then
		deb-systemd-helper unmask "$1" >/dev/null || true
		if deb-systemd-helper --quiet was-enabled "$1"; then
			deb-systemd-helper enable "$1" >/dev/null || true
		fi
	fi
	deb-systemd-helper update-state "$1" >/dev/null || true
	if [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
		if [ -n "$2" ]; then
			deb-systemd-invoke try-restart "$1" >/dev/null || true
		elif [ "$3" = yes ]; then
			deb-systemd-invoke start "$1" >/dev/null || true
		fi
	fi
}

# pillbox_unit_removed UNIT ACTION: postrm's systemd bookkeeping.
pillbox_unit_removed() {
	if [ "$2" = remove ] && [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
	fi
	if command -v deb-systemd-helper >/dev/null; then
		case "$2" in
		remove) deb-systemd-helper mask "$1" >/dev/null || true ;;
		purge)
			deb-systemd-helper purge "$1" >/dev/null || true
			deb-systemd-helper unmask "$1" >/dev/null || true
			;;
		esac
	fi
}

# pillbox_unit_stop UNIT ACTION: prerm stops the unit when the package goes.
pillbox_unit_stop() {
	if [ "$2" = remove ] && [ -d /run/systemd/system ]; then
		deb-systemd-invoke stop "$1" >/dev/null || true
	fi
}
