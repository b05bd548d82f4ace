#!/usr/bin/env bash
# scripts/package.sh — builds the sspr packages: a .deb, an .rpm and an OCI
# image, from the working tree.
#
#   scripts/package.sh                 all three
#   scripts/package.sh deb rpm         only these (any of: deb rpm image agent)
#   scripts/package.sh agent           the login-screen agent's deb
#                                      (sspr-agent + pam_sspr.so; needs gcc,
#                                      make and libpam0g-dev; this machine's
#                                      architecture only)
#
# Environment:
#   OUT=DIR          where the packages go (default dist/)
#   VERSION=V        package version (default: from `git describe`, or
#                    0.0.0~gitYYYYMMDD.HASH without a release tag)
#   GOARCH=ARCH      target architecture (default: this machine's)
#   IMAGE=NAME       image name (default localhost/sspr); tagged VERSION
#   IMAGE_STORAGE=DIR  buildah keeps its images here (default: the system's
#                    /var/lib/containers, where podman finds them too)
#   STORAGE_DRIVER   buildah storage driver (default vfs: works in any
#                    container or chroot, needs no kernel overlay support)
#
# Needs: Go; nfpm is run from the Go module proxy at a pinned version; the
# image needs buildah (Debian package) and no network: it starts FROM scratch.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export GOTOOLCHAIN=local
nfpm_module=github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0

targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(deb rpm image)
for t in "${targets[@]}"; do
	case $t in
	deb | rpm | image | agent) ;;
	*)
		echo "package.sh: unknown target $t (want deb, rpm, image or agent)" >&2
		exit 2
		;;
	esac
done

out=${OUT:-dist}
mkdir -p "$out"
out=$(cd "$out" && pwd)

# Reproducible: file dates and man page dates come from the last commit.
if [[ -z ${SOURCE_DATE_EPOCH:-} ]]; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH

if [[ -z ${VERSION:-} ]]; then
	if tag=$(git describe --tags --match 'v[0-9]*' 2>/dev/null); then
		# v1.2.3-4-gabc → 1.2.3+4.gabc (later than 1.2.3 for dpkg and rpm)
		VERSION=$(sed -E 's/^v//; s/-([0-9]+)-g/+\1.g/' <<<"$tag")
	else
		VERSION="0.0.0~git$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y%m%d).$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
	fi
fi
if [[ ! $VERSION =~ ^[0-9][0-9A-Za-z.+~]*$ ]]; then
	echo "package.sh: VERSION=$VERSION: must start with a digit and hold only letters, digits and . + ~" >&2
	exit 2
fi
arch=${GOARCH:-$(go env GOARCH)}
hostarch=$(go env GOARCH)

stage=$(mktemp -d "${TMPDIR:-/tmp}/sspr-package.XXXXXX")
trap 'rm -rf "$stage"' EXIT

echo "package.sh: sspr $VERSION for linux/$arch into $out"

# The agent's deb: its own stage and nfpm config (packaging/agent/).
agent_deb() {
	if [[ $arch != "$hostarch" ]]; then
		echo "package.sh: the agent's PAM module is built with this machine's gcc: no cross build (GOARCH=$arch)" >&2
		exit 2
	fi
	local a=$stage/agent
	mkdir -p "$a/scripts" "$a/doc"
	CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath \
		-ldflags "-s -w -X main.version=$VERSION" -o "$a/sspr-agent" ./cmd/sspr-agent
	make -s -C pam OUT="$a/pam_sspr.so" "$a/pam_sspr.so"
	# nfpm expands no variables in paths: the module folder is filled in here.
	sed "s|@MULTIARCH@|$("${CC:-gcc}" -print-multiarch)|" packaging/agent/nfpm.yaml >"$a/nfpm.yaml"
	cp packaging/agent/pam-config packaging/agent/agent.yaml "$a/"
	cp packaging/agent/scripts/*.sh "$a/scripts/"
	cp README.md LICENSE docs/agents/linux.md "$a/doc/"
	find "$a" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
	(cd "$a" && SSPR_VERSION=$VERSION SSPR_ARCH=$arch GOFLAGS= \
		go run "$nfpm_module" package --config nfpm.yaml --packager deb --target "$out/")
}
server=no
for t in "${targets[@]}"; do [[ $t == agent ]] || server=yes; done
if [[ $server == no ]]; then
	agent_deb
	exit 0
fi

# A static binary: no cgo, so it runs on any Linux and in an image FROM scratch.
CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath \
	-ldflags "-s -w -X main.version=$VERSION" -o "$stage/sspr" ./cmd/sspr
# Completions and man pages come from the binary itself; cross builds get
# them from a build for this machine.
helper=$stage/sspr
if [[ $arch != "$hostarch" ]]; then
	helper=$stage/sspr-host
	CGO_ENABLED=0 go build -trimpath -ldflags "-X main.version=$VERSION" -o "$helper" ./cmd/sspr
fi

mkdir -p "$stage/completions" "$stage/man" "$stage/doc" "$stage/scripts"
"$helper" completion bash >"$stage/completions/sspr.bash"
"$helper" completion zsh >"$stage/completions/_sspr"
"$helper" completion fish >"$stage/completions/sspr.fish"
"$helper" docs man "$stage/man" >/dev/null
gzip -9n "$stage"/man/*.1

cp packaging/nfpm.yaml packaging/systemd/sspr.service packaging/etc/sspr.yaml packaging/sysusers.conf "$stage/"
cp packaging/scripts/*.sh "$stage/scripts/"
cp README.md LICENSE sspr.example.yaml docs/install.md docs/reverse-proxy.md docs/operations.md "$stage/doc/"
find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

nfpm() {
	(cd "$stage" && SSPR_VERSION=$VERSION SSPR_ARCH=$arch GOFLAGS= go run "$nfpm_module" "$@")
}

for t in "${targets[@]}"; do
	case $t in
	agent) agent_deb ;;
	deb | rpm)
		nfpm package --config nfpm.yaml --packager "$t" --target "$out/"
		;;
	image)
		command -v buildah >/dev/null || {
			echo "package.sh: the image needs buildah (apt-get install buildah)" >&2
			exit 1
		}
		ctx=$stage/image
		mkdir -p "$ctx/rootfs/etc/ssl/certs" "$ctx/rootfs/var/lib" "$ctx/statedir/sspr"
		cp packaging/image/passwd packaging/image/group "$ctx/rootfs/etc/"
		if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then
			cp /etc/ssl/certs/ca-certificates.crt "$ctx/rootfs/etc/ssl/certs/"
		fi
		chmod 0700 "$ctx/statedir/sspr"
		cp "$stage/sspr" "$ctx/sspr"
		# The driver is passed as a flag: buildah ignores STORAGE_DRIVER
		# from the environment when --root is given.
		storage=(--storage-driver "${STORAGE_DRIVER:-vfs}")
		if [[ -n ${IMAGE_STORAGE:-} ]]; then
			storage+=(--root "$IMAGE_STORAGE/root" --runroot "$IMAGE_STORAGE/run")
		fi
		image=${IMAGE:-localhost/sspr}
		tag=${VERSION//[~+]/-}
		buildah "${storage[@]}" bud \
			--quiet --isolation chroot --pull=never --timestamp "$SOURCE_DATE_EPOCH" \
			-f "$PWD/packaging/image/Containerfile" -t "$image:$tag" "$ctx"
		buildah "${storage[@]}" push --quiet \
			"$image:$tag" "oci-archive:$out/sspr_${tag}_linux_$arch.oci.tar:$image:$tag"
		echo "package.sh: image $image:$tag (also $out/sspr_${tag}_linux_$arch.oci.tar)"
		;;
	esac
done
