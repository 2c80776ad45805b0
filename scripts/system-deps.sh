#!/usr/bin/env bash
# Debian packages the project needs at run time: Pango for WeasyPrint, fontconfig and the font
# families the built-in templates use, Tesseract 5 with English, German and French. Installs only what is missing.
set -euo pipefail
packages=(fontconfig libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fonts-dejavu-core fonts-dejavu-extra fonts-liberation2
          fonts-freefont-ttf fonts-dotgothic16  # FreeMono and a dot-matrix face for receipt_pos
          tesseract-ocr tesseract-ocr-eng tesseract-ocr-deu tesseract-ocr-fra)  # OCR: the layout model's word source, the tesseract baseline
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
