#!/usr/bin/env bash
# Makes sure WebGPU can run headless on this machine for the tests: Dawn in Node and headless
# Chromium both use SwiftShader (a CPU Vulkan driver shipped by Debian's `chromium` package)
# through the Vulkan loader (`libvulkan1`). Idempotent and silent when everything is present.
set -euo pipefail

ICD=/usr/lib/chromium/vk_swiftshader_icd.json
PACKAGES=(chromium libvulkan1)

have_libvulkan() {
  local ldconfig
  for ldconfig in ldconfig /sbin/ldconfig /usr/sbin/ldconfig; do
    if command -v "$ldconfig" >/dev/null 2>&1 && "$ldconfig" -p 2>/dev/null | grep -q 'libvulkan\.so\.1 '; then
      return 0
    fi
  done
  compgen -G '/usr/lib/*/libvulkan.so.1' >/dev/null || compgen -G '/lib/*/libvulkan.so.1' >/dev/null \
    || [ -e /usr/lib/libvulkan.so.1 ] || [ -e /usr/lib64/libvulkan.so.1 ]
}

have_icd() {
  # A driver the user chose (e.g. a real GPU's, or SwiftShader elsewhere) replaces Chromium's.
  [ -e "$ICD" ] || [ -n "${VK_ICD_FILENAMES:-}" ] || [ -n "${VK_DRIVER_FILES:-}" ]
}

if have_icd && have_libvulkan; then
  exit 0
fi

missing=()
have_icd || missing+=("$ICD (Debian package chromium)")
have_libvulkan || missing+=("libvulkan.so.1 (Debian package libvulkan1)")
echo "setup-test-env: missing ${missing[*]}" >&2

if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-test-env: apt-get is not available. Install Chromium (with its SwiftShader Vulkan driver," >&2
  echo "  $ICD) and the Vulkan loader (libvulkan.so.1) with your package manager, then rerun." >&2
  exit 1
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "setup-test-env: not root and sudo is not available; as root run:" >&2
    echo "  apt-get update && apt-get install -y ${PACKAGES[*]}" >&2
    exit 1
  fi
fi

echo "setup-test-env: installing ${PACKAGES[*]} with ${SUDO[*]:+${SUDO[*]} }apt-get" >&2
${SUDO[@]+"${SUDO[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get update -qq
${SUDO[@]+"${SUDO[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null

if ! have_icd || ! have_libvulkan; then
  echo "setup-test-env: installed ${PACKAGES[*]} but $ICD or libvulkan.so.1 is still missing." >&2
  echo "  (On Ubuntu the chromium package is a snap without this file; point VK_ICD_FILENAMES at a" >&2
  echo "  SwiftShader vk_swiftshader_icd.json, or run on a machine with a Vulkan GPU driver.)" >&2
  exit 1
fi
echo "setup-test-env: done" >&2
