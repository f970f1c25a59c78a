#!/usr/bin/env bash
# Flies one scenario in the three HIL modes with one seed and checks that the daemon
# (host, and the aarch64 firmware under qemu) produces exactly the in-process flight:
# the same outcome and the byte-identical time series and mission states.
#   HIL/compare-modes.sh SCENARIO [SEED]
set -euo pipefail
scenario="${1:?scenario}"
seed="${2:-1}"
out="build/hil/modes/$scenario"
rm -rf "$out"
mkdir -p "$out"
for mode in inprocess process firmware; do
    .build/release/plumb hil run "$scenario" --mode "$mode" --seed "$seed" --report "$out/$mode" --json > "$out/$mode.json" \
        || { echo "FAIL: $scenario in $mode mode did not pass:"; cat "$out/$mode.json"; exit 1; }
    python3 -c "import json,sys; j=json.load(open('$out/$mode.json')); print('%-9s %-10s passed=%s landing=%s parcel=%s %5.0f s sim in %5.1f s (%.0fx)' % (j['mode'], j['outcome'], j['passed'], j['landingErrorM'], j['parcelErrorM'], j['simSeconds'], j['wallSeconds'], j['simSeconds']/max(j['wallSeconds'],1e-9)))"
done
status=0
for mode in process firmware; do
    for f in timeseries.csv states.csv; do
        if cmp -s "$out/inprocess/$f" "$out/$mode/$f"; then
            echo "ok: $mode $f identical to in-process"
        else
            echo "FAIL: $mode $f differs from in-process"; status=1
        fi
    done
    # The summaries agree except for the wall time and the mode's name.
    strip='import json,sys; j=json.load(open(sys.argv[1])); [j.pop(k) for k in ("wallSeconds","mode")]; print(json.dumps(j, sort_keys=True))'
    if [ "$(python3 -c "$strip" "$out/inprocess.json")" = "$(python3 -c "$strip" "$out/$mode.json")" ]; then
        echo "ok: $mode summary identical to in-process"
    else
        echo "FAIL: $mode summary differs"; status=1
    fi
done
exit $status
