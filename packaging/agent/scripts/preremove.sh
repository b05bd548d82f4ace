#!/bin/sh
# sspr-agent prerm. $1 = remove | upgrade | deconfigure | failed-upgrade.
set -e

# Take pam_sspr out of the stacks while the module is still there, so no
# login ever meets a stack naming a module that is gone. On an upgrade the
# profile stays as the admin set it.
if [ "$1" = remove ] || [ "$1" = deconfigure ]; then
	pam-auth-update --package --remove sspr
fi
