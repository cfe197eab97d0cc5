#!/usr/bin/env bash
# Sends a few realistic sample alerts to a console with util-linux `logger`,
# once its TCP listener answers. Usage: send-samples.sh [HOST] [PORT]
set -euo pipefail
host=${1:-127.0.0.1}
port=${2:-5514}

for _ in $(seq 1 300); do
  if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then break; fi
  sleep 0.1
done

tcp() { logger --rfc5424 --octet-count -T -n "$host" -P "$port" "$@"; }
udp() { logger --rfc5424 -d -n "$host" -P "$port" "$@"; }

tcp -p local4.info   -t iomt-sentinel --msgid FW-OUTDATED   "Syringe pump SP-ONC-22 runs firmware 3.1 with 2 known vulnerabilities"
udp -p local4.notice -t suricata      --msgid SCAN          "Port scan from 10.40.2.15 across the imaging VLAN (asset scanner)"
tcp -p local4.warning -t homecare-gw  --msgid UNKNOWN-CLOUD "Home glucose monitor CGM-H-118 contacted an unknown cloud host"
udp -p local4.warning -t iomt-sentinel --msgid TLS-WEAK     "Anaesthesia machine OR-2-AM uses TLS 1.0 to the charting server"
tcp -p local4.err    -t iomt-sentinel --msgid DEFAULT-CREDS "Patient monitor PM-4-07 accepted a login with default credentials"
udp -p local4.crit   -t suricata      --msgid ET-2027865    "Imaging workstation RAD-WS-03 beaconing to 203.0.113.50"
tcp -p local4.alert  -t iomt-sentinel --msgid EXPLOIT       "Exploit attempt against infusion pump ICU-B12 while in use"
echo "sent 7 sample alerts to $host:$port"
