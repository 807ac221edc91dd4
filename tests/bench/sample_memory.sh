#!/usr/bin/env bash
# Samples a backend's memory from /proc while it rebuilds, for .ci/bench.sh.
#   sample_memory.sh start PID DIR   baseline now, then sample in the background
#   sample_memory.sh stop DIR        stop sampling and wait for DIR/result
# DIR/result: rss_anon_before_kb rss_anon_peak_kb vm_rss_before_kb vm_hwm_after_kb
# RssAnon is the backend's private memory (what many backends would multiply);
# VmRSS/VmHWM also count the shared buffers the backend touched.
set -euo pipefail

field() { # field NAME FILE: the value in kB of one /proc/PID/status line
    local name value _
    while read -r name value _; do
        [ "$name" = "$1:" ] && { echo "$value"; return; }
    done <"$2"
    echo 0
}

case "$1" in
start)
    pid="$2" dir="$3"
    status="/proc/$pid/status"
    anon_before=$(field RssAnon "$status")
    rss_before=$(field VmRSS "$status")
    # Sampled every 10 ms; VmHWM catches any peak the samples miss.
    (
        peak=$anon_before
        while [ ! -e "$dir/stop" ] && [ -e "$status" ]; do
            anon=$(field RssAnon "$status")
            [ "$anon" -gt "$peak" ] && peak=$anon
            sleep 0.01
        done
        echo "$anon_before $peak $rss_before $(field VmHWM "$status")" >"$dir/result.tmp"
        mv "$dir/result.tmp" "$dir/result"
    ) >/dev/null 2>&1 </dev/null &
    ;;
stop)
    dir="$2"
    touch "$dir/stop"
    for _ in $(seq 500); do [ -e "$dir/result" ] && exit 0; sleep 0.01; done
    echo "sample_memory: no result in $dir" >&2
    exit 1
    ;;
esac
