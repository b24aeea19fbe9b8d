#!/usr/bin/env bash
# The redir-mux packaging examples, each run for real: make-certs.sh makes a
# CA and a server certificate; supervisord.conf runs `redir-mux serve` under
# supervisord; redir-mux.service and redir-mux-apps.service pass
# systemd-analyze verify and their ExecStart lines run serve. A real client
# logs in over TLS each time (and lists the apps of the app server).
# Paths in the examples (/etc/vredir, /var/log/vredir, /run/vredir,
# /var/lib/vredir, /usr/local/bin, ports 7443 and 7444, the vredir account)
# are pointed at a temporary
# directory, the build and a free port; nothing else is changed.
set -u

source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
ex=$VREDIR_SOURCE_DIR/examples
need_tools redir-mux
for t in openssl:openssl supervisord:supervisor supervisorctl:supervisor systemd-analyze:systemd python3:python3; do
    command -v "${t%%:*}" >/dev/null || { echo "not ok - ${t%%:*} is missing (apt-get install ${t#*:})"; exit 1; }
done
mux=$(command -v redir-mux)

source "$(dirname "${BASH_SOURCE[0]}")/lib/tap.sh"

out=$(mktemp -d "${TMPDIR:-/tmp}/vredir-mux-examples.XXXXXX")
pids=()
finish() {
    local rc=$?
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    rm -rf "$out"
    exit "$rc"
}
trap finish EXIT
cd "$out" || exit 1

# shellcheck source=../guest/fixture.sh
source "$VREDIR_SOURCE_DIR/tests/guest/fixture.sh"
vg_ensure_libvirt

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Points an example's paths at this test's directory and a free port.
localize() {
    sed -e "s|/etc/vredir|$out/etc|g" -e "s|/var/log/vredir|$out/log|g" -e "s|/run/vredir|$out/run|g" \
        -e "s|/var/lib/vredir|$out/state|g" \
        -e "s|/usr/local/bin/redir-mux|$mux|g" -e "s|0\.0\.0\.0:744[34]|127.0.0.1:$2|g" -e '/^user=vredir$/d' \
        -e 's|^User=vredir$|User=root|' "$1"
}
# login PORT: a real client lists the VMs over TLS, verifying the CA.
login() {
    redir-mux connect "tls://127.0.0.1:$1" --user alice --password-file "$out/pw" --ca "$out/etc/ca.pem" \
        --list --timeout 10 >"$out/list.txt" 2>"$out/login.err"
}
wait_login() {
    for _ in $(seq 100); do login "$1" && return 0; sleep 0.2; done
    return 1
}

# ---- make-certs.sh --------------------------------------------------------------
mkdir -p etc log run
touch login.err
"$ex/make-certs.sh" 127.0.0.1 "$out/etc" >certs.out 2>certs.err
rc=$?
check "make-certs.sh 127.0.0.1 exits 0 (rc $rc: $(head -c 200 certs.err))" [ $rc = 0 ]
check "make-certs.sh: the server certificate verifies against its CA" bash -c "openssl verify -CAfile etc/ca.pem etc/server.pem >/dev/null"
check "make-certs.sh: the server certificate names 127.0.0.1 in subjectAltName" \
    bash -c "openssl x509 -noout -ext subjectAltName -in etc/server.pem | grep -q 'IP Address:127.0.0.1'"
want=$(openssl x509 -noout -fingerprint -sha256 -in etc/server.pem)
check "make-certs.sh prints the server's SHA-256 fingerprint ($want)" grep -qx "$want" certs.out
check "make-certs.sh: keys are mode 0600" bash -c "[ \"\$(stat -c %a etc/server.key etc/ca.key | sort -u)\" = 600 ]"
"$ex/make-certs.sh" 127.0.0.1 "$out/etc" >/dev/null 2>err
rc=$?
check "make-certs.sh again: refuses to overwrite, exit 1, one line (rc $rc)" bash -c "[ $rc = 1 ] && [ \$(wc -l <err) = 1 ]"
"$ex/make-certs.sh" vredir.example.org "$out/dns" >/dev/null 2>&1
check "make-certs.sh with a host name puts it in subjectAltName as DNS" \
    bash -c "openssl x509 -noout -ext subjectAltName -in dns/server.pem | grep -q 'DNS:vredir.example.org'"
"$ex/make-certs.sh" >/dev/null 2>&1
check "make-certs.sh without HOST: usage, exit 2" [ $? = 2 ]

printf 'correct horse battery\n' >pw
chmod 600 pw
redir-mux users add alice --users etc/users --password-file pw >/dev/null 2>err ||
    not_ok "redir-mux users add: $(cat err)"

# ---- supervisord.conf ------------------------------------------------------------
port=$(free_port)
localize "$ex/supervisord.conf" "$port" >supervisord.conf
supervisord -c supervisord.conf >supervisord.out 2>&1 &
pids+=($!)
sv_pid=$!
check "supervisord.conf: supervisord runs serve and a client logs in over TLS ($(head -c 200 login.err))" wait_login "$port"
check "supervisord.conf: the client's list is the server's" test -s list.txt
# supervisord says STARTING until the program has run for startsecs (1 s
# by default), which a quick login can beat: wait for RUNNING, up to 10 s
check "supervisord.conf: supervisorctl reports redir-mux RUNNING" \
    bash -c "for _ in \$(seq 50); do supervisorctl -c supervisord.conf status redir-mux | grep -q RUNNING && exit 0; sleep 0.2; done; exit 1"
supervisorctl -c supervisord.conf stop redir-mux >/dev/null 2>&1
check "supervisord.conf: supervisorctl stop ends serve (no more logins)" bash -c "! redir-mux connect tls://127.0.0.1:$port --user alice --password-file pw --ca etc/ca.pem --list --timeout 3 >/dev/null 2>&1"
supervisorctl -c supervisord.conf shutdown >/dev/null 2>&1
for _ in $(seq 50); do kill -0 "$sv_pid" 2>/dev/null || break; sleep 0.2; done
check "supervisord.conf: supervisorctl shutdown ends supervisord" bash -c "! kill -0 $sv_pid 2>/dev/null"

# ---- redir-mux.service -------------------------------------------------------------
port=$(free_port)
localize "$ex/redir-mux.service" "$port" >redir-mux.service
# The man page is checked by tests/cli/docs.sh, not installed here.
systemd-analyze verify --man=no "$out/redir-mux.service" >verify.out 2>&1
rc=$?
check "redir-mux.service: systemd-analyze verify passes (rc $rc: $(grep -v '^$' verify.out | head -3 | tr '\n' ' '))" [ $rc = 0 ]
exec_start=$(sed -n 's/^ExecStart=//p' redir-mux.service)
check "redir-mux.service: one ExecStart that runs redir-mux serve" bash -c "[[ '$exec_start' == '$mux serve '* ]]"
# Run its ExecStart as systemd would (no shell: split on blanks).
read -r -a argv <<<"$exec_start"
"${argv[@]}" >service.out 2>&1 &
svc_pid=$!
pids+=($svc_pid)
check "redir-mux.service: its ExecStart serves; a client logs in over TLS ($(head -c 200 login.err))" wait_login "$port"
kill -TERM "$svc_pid"
for _ in $(seq 50); do kill -0 "$svc_pid" 2>/dev/null || break; sleep 0.2; done
check "redir-mux.service: SIGTERM (systemctl stop) ends serve within TimeoutStopSec" bash -c "! kill -0 $svc_pid 2>/dev/null"

# ---- redir-mux-apps.service ---------------------------------------------------------
port=$(free_port)
localize "$ex/redir-mux-apps.service" "$port" >redir-mux-apps.service
printf '[app notepad]\npath = notepad.exe\nallow = alice\ndescription = the Wine notepad\n' >etc/apps.conf
systemd-analyze verify --man=no "$out/redir-mux-apps.service" >verify.out 2>&1
rc=$?
check "redir-mux-apps.service: systemd-analyze verify passes (rc $rc: $(grep -v '^$' verify.out | head -3 | tr '\n' ' '))" [ $rc = 0 ]
exec_start=$(sed -n 's/^ExecStart=//p' redir-mux-apps.service)
check "redir-mux-apps.service: one ExecStart that runs redir-mux serve --apps" \
    bash -c "[[ '$exec_start' == '$mux serve '*'--apps '* ]]"
read -r -a argv <<<"$exec_start"
"${argv[@]}" >apps-service.out 2>&1 &
svc_pid=$!
pids+=($svc_pid)
list_apps() {
    redir-mux connect "tls://127.0.0.1:$port" --user alice --password-file "$out/pw" --ca "$out/etc/ca.pem" \
        --list-apps --timeout 10 >"$out/apps.txt" 2>"$out/login.err" && grep -q '^notepad ' "$out/apps.txt"
}
wait_apps() { for _ in $(seq 100); do list_apps && return 0; sleep 0.2; done; return 1; }
check "redir-mux-apps.service: its ExecStart serves; a client lists its apps over TLS ($(head -c 200 login.err))" \
    wait_apps
kill -TERM "$svc_pid"
for _ in $(seq 50); do kill -0 "$svc_pid" 2>/dev/null || break; sleep 0.2; done
check "redir-mux-apps.service: SIGTERM ends serve" bash -c "! kill -0 $svc_pid 2>/dev/null"

tap_finish
