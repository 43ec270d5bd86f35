# Sourced by ./regnet and ./scripts/test (and by you, for plain cargo commands):
# makes sure the project-local Python venv with PyTorch exists, then points the
# libtorch build (tch / torch-sys) at it.
#   source scripts/env.sh
REGNET_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REGNET_VENV="$REGNET_ROOT/.venv"
REGNET_TORCH_PINS="torch==2.11.0 torchvision==0.26.0"
regnet_stamp="$REGNET_VENV/.regnet-ready-$(echo "$REGNET_TORCH_PINS" | tr ' =' '_-')"
if [ ! -f "$regnet_stamp" ]; then
    echo "setting up $REGNET_VENV with $REGNET_TORCH_PINS (first use; a few minutes)" >&2
    python3 -m venv "$REGNET_VENV" || return 1 2>/dev/null || exit 1
    # shellcheck disable=SC2086
    "$REGNET_VENV/bin/pip" install --quiet --disable-pip-version-check $REGNET_TORCH_PINS \
        || { echo "error: installing $REGNET_TORCH_PINS into $REGNET_VENV failed" >&2; return 1 2>/dev/null || exit 1; }
    touch "$regnet_stamp"
fi
export VIRTUAL_ENV="$REGNET_VENV"
export PATH="$REGNET_VENV/bin:$PATH"
export LIBTORCH_USE_PYTORCH=1
