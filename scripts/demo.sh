#!/usr/bin/env bash
# Set everything up, generate the sample batch and process it locally with an embedded Ray.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/python scripts/make_sample_batch.py sample_batch >/dev/null
echo "Sample batch: $(pwd)/sample_batch (5 files, one deliberately broken)"
set +e
.venv/bin/raybatch batch process sample_batch --type educational --quality medium --output demo_output "$@"
code=$?
set -e
echo
echo "Enhanced videos:"
find demo_output -name 'enhanced_*.mp4' | sort | sed 's/^/  /'
echo "Thumbnails and metadata:"
find demo_output -path '*/thumbnails/*.jpg' | sort | sed 's/^/  /'
find demo_output -name metadata.json -not -path '*/.raybatch/*' | sort | sed 's/^/  /'
echo "Reports: demo_output/summary/ (batch_report.json, processing_metrics.json, error_log.json, metrics/*.parquet)"
# Exit 1 means 'some videos failed': expected here, the sample has one broken file on purpose.
[ "$code" -le 1 ] || exit "$code"
