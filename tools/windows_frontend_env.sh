#!/usr/bin/env bash
# Set up what tools/windows_frontend.py runs: NVIDIA's Windows CUDA front end
# (cudafe++.exe from the win_amd64 nvidia-cuda-nvcc wheel, run under Wine), clang-cl as
# an MSVC-mode preprocessor, and the headers a Windows build sees: the Microsoft STL
# (MSVC_STL, default ../shared/msvc-stl/stl/inc beside the checkout), Wine's CRT headers
# made to behave as the UCRT's do, and small stand-ins for MSVC's closed vcruntime
# headers. From registries only (apt, PyPI); running it again changes nothing.
#
#   tools/windows_frontend_env.sh DIR     then   python tools/windows_frontend.py --env DIR ...
#
# Verification only: nothing in winport uses Wine or these headers.
set -euo pipefail
dir=$(realpath -m "${1:?usage: tools/windows_frontend_env.sh DIR}")
here=$(cd "$(dirname "$0")/.." && pwd)
nvcc_version=13.5.37
mkdir -p "$dir/bin" "$dir/include/stubs" "$dir/wheel"

need=()
command -v clang-cl-19 >/dev/null || need+=(clang-19 lld-19)
[ -x /usr/lib/wine/wine64 ] || need+=(wine64)
[ -d /usr/include/wine/wine/msvcrt ] || need+=(libwine-dev)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${need[@]}"
fi

# NAME.exe out of the win_amd64 wheel of PACKAGE (at MEMBER), once
exe_from_wheel() {
  local name=$1 package=$2 member=$3
  [ -f "$dir/bin/$name" ] && return
  python3 -m pip download --quiet --no-deps --only-binary=:all: --platform win_amd64 \
    "$package==$nvcc_version" -d "$dir/wheel"
  python3 - "$dir" "$package" "$member" "$name" <<'EOF'
import glob, pathlib, sys, zipfile
out, package, member, name = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
wheel = glob.glob(str(out / "wheel" / (package.replace("-", "_") + "-*-win_amd64.whl")))[0]
with zipfile.ZipFile(wheel) as z:
    (out / "bin" / name).write_bytes(z.read(member))
EOF
}
# cudafe++.exe, the host pass's front end: imports only KERNEL32, so wine runs it
# without a Windows installation; cicc.exe, the device pass's (--device-pass)
exe_from_wheel cudafe++.exe nvidia-cuda-nvcc nvidia/cu13/bin/cudafe++.exe
exe_from_wheel cicc.exe nvidia-nvvm nvidia/cu13/nvvm/bin/cicc.exe
rm -f "$dir"/wheel/*.whl
echo "$nvcc_version" > "$dir/bin/NVCC_VERSION"

# The Microsoft STL
stl=${MSVC_STL:-$here/../shared/msvc-stl/stl/inc}
[ -f "$stl/yvals_core.h" ] || { echo "error: no Microsoft STL at $stl (set MSVC_STL)" >&2; exit 2; }
rm -rf "$dir/include/stl" && cp -r "$(realpath "$stl")" "$dir/include/stl"
ln -sfn /usr/include/wine/wine/windows "$dir/include/windows"

# The UCRT, from Wine's CRT headers, with what the UCRT does not have removed and
# what differs made as the UCRT has it
rm -rf "$dir/include/crt.new"
cp -r /usr/include/wine/wine/msvcrt "$dir/include/crt.new"
rm -rf "$dir/include/sdk.new"
python3 "$here/tools/windows_frontend_headers.py" "$dir/include/crt.new" "$dir/include/sdk.new" "$dir/include/stl"
rm -rf "$dir/include/crt" "$dir/include/sdk" && mv "$dir/include/crt.new" "$dir/include/crt"
mv "$dir/include/sdk.new" "$dir/include/sdk"

cp "$here/tools/windows_frontend_stubs/"*.h "$dir/include/stubs/"
rm -rf "$dir/include/python" && cp -r "$here/tools/windows_frontend_stubs/python" "$dir/include/python"
# Windows' file system ignores case: so do the header lookups (a clang VFS overlay)
python3 -c "import sys; sys.path.insert(0, '$here/tools'); import windows_frontend_headers as h, pathlib; \
h.vfs_overlay(pathlib.Path('$dir/include'), pathlib.Path('$dir/include/vfs.yaml'))"

# Wine's prefix, made once (the first start takes seconds)
export WINEPREFIX="$dir/prefix" WINEDEBUG=-all
[ -d "$WINEPREFIX" ] || /usr/lib/wine/wine64 wineboot -i >/dev/null 2>&1 || true
/usr/lib/wine/wine64 "$dir/bin/cudafe++.exe" --version >/dev/null 2>&1 || true
echo "windows front end ready in $dir"
