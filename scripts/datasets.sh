# Sourced by ./regnet and ./scripts/test: installs Debian's
# dataset-fashion-mnist (the demo's and the study's real images, 30 MB, under
# /usr/share/datasets/fashion-mnist) when it is missing. Where it cannot be
# installed, says so in one line; `regnet demo` then uses its synthetic data.
regnet_fashion_mnist() {
    [ -d /usr/share/datasets/fashion-mnist ] && return 0
    echo "installing Debian's dataset-fashion-mnist (Fashion-MNIST, 30 MB: the demo's data)" >&2
    local sudo_cmd=""
    if [ "$(id -u)" != 0 ]; then sudo_cmd="sudo -n"; fi
    local install="DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq dataset-fashion-mnist"
    if command -v apt-get >/dev/null 2>&1 &&
        { eval "$install" || { $sudo_cmd apt-get update -qq && eval "$install"; }; } >/dev/null 2>&1; then
        return 0
    fi
    echo "could not install dataset-fashion-mnist (needs Debian's apt and root or sudo); regnet demo will use its built-in synthetic data" >&2
    return 0
}
