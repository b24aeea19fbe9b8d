# wine_backtraces EXE: the thread backtraces of the running Wine process EXE
# (in $WINEPREFIX), as "# " lines: where a hung app waits.
wine_backtraces() {
    local wpid
    wpid=$(winedbg --command "info process" 2>/dev/null | awk -v exe="'$1'" 'index($0, exe) {print $1; exit}')
    [ -n "$wpid" ] || { echo "# $1 is not running"; return 0; }
    printf 'attach 0x%s\nbt all\ndetach\nquit\n' "$wpid" | timeout 60 winedbg 2>/dev/null |
        awk -v exe="$1" '/^Backtracing for thread/ {p = index($0, exe) > 0} p' | cut -c1-200 | head -80 | sed 's/^/# /'
}
