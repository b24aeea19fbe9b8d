# shellcheck shell=bash
# mux_server.sh - a throwaway TLS identity and a redir-mux server for the
# mux groups and benchmarks. Source it after setting $out (a work directory).
#   mux_make_cert [CN]        $out/ca.pem (+ca.key), and $out/cert.pem with
#                             $out/key.pem for localhost and 127.0.0.1;
#                             returns 1 when openssl fails
#   mux_start_serve LOG ARGS  redir-mux serve --listen tls://127.0.0.1:0 with
#                             that certificate and ARGS, stderr to LOG; sets
#                             serve_pid, port and url (tls://127.0.0.1:PORT);
#                             returns 1 when it does not listen within 10 s;
#                             $mux_program, when set, is the redir-mux to run
#   mux_serve_alice VMS       all of it for one account: alice (password in
#                             $out/alice.pw) may use the VMs matching VMS in
#                             $out/users; a certificate; serve on qemu:///system
#                             (log $out/serve.log); exits 1 when any step fails

mux_make_cert() {
    local cn=${1:-vredir-test-ca}
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=$cn" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
        -keyout "$out/ca.key" -out "$out/ca.pem" 2>/dev/null &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=localhost \
        -keyout "$out/key.pem" -out "$out/req.pem" 2>/dev/null &&
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$out/ext" &&
    openssl x509 -req -in "$out/req.pem" -CA "$out/ca.pem" -CAkey "$out/ca.key" -CAcreateserial -days 2 \
        -extfile "$out/ext" -out "$out/cert.pem" 2>/dev/null
}

mux_start_serve() {
    local log=$1 i
    shift
    "${mux_program:-redir-mux}" serve --listen tls://127.0.0.1:0 --cert "$out/cert.pem" --key "$out/key.pem" "$@" 2>"$log" &
    serve_pid=$!
    for i in $(seq 1 100); do grep -q 'listening on' "$log" && break; sleep 0.1; done
    port=$(sed -n 's|.*listening on tls://127.0.0.1:\([0-9]*\).*|\1|p' "$log")
    url=tls://127.0.0.1:$port
    [ -n "$port" ]
}

mux_serve_alice() {
    users=$out/users
    echo 'alice-pw' >"$out/alice.pw"
    VREDIR_PASSWORD=alice-pw redir-mux users add alice --users "$users" --vms "$1" ||
        vg_fail "redir-mux users add failed"
    command -v openssl >/dev/null || vg_fail "openssl is missing (apt-get install -y openssl)"
    mux_make_cert || vg_fail "openssl could not make a certificate"
    mux_start_serve "$out/serve.log" --users "$users" -c qemu:///system ||
        vg_fail "serve did not start: $(cat "$out/serve.log")"
}
