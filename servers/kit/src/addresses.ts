import ipaddr from "ipaddr.js";

/**
 * Which IP addresses may be reached on someone else's behalf (a browser page, a federated upstream): one
 * classifier for every egress guard of the platform (DevTools URL policy, the gateway's federation egress).
 */

/** Cloud metadata service addresses: always refused, even where private networks are allowed. */
const METADATA_ADDRESSES = new Set([
  "169.254.169.254",
  "169.254.170.2",
  "169.254.169.253",
  "100.100.100.200",
  "192.0.0.192",
  "fd00:ec2::254",
]);

/** The IPv4 address an IPv6 address carries (IPv4-mapped, IPv4-compatible, NAT64, 6to4), if any. */
function embeddedIPv4(ip: ipaddr.IPv6): ipaddr.IPv4 | null {
  const parts = ip.parts;
  const last32 = () => new ipaddr.IPv4([parts[6]! >> 8, parts[6]! & 255, parts[7]! >> 8, parts[7]! & 255]);
  if (ip.isIPv4MappedAddress()) return ip.toIPv4Address();
  if (parts.slice(0, 6).every((p) => p === 0) && (parts[6] !== 0 || parts[7]! > 1)) return last32();
  if (ip.range() === "rfc6052" || ip.range() === "rfc6145") return last32();
  if (parts[0] === 0x2002) {
    return new ipaddr.IPv4([parts[1]! >> 8, parts[1]! & 255, parts[2]! >> 8, parts[2]! & 255]);
  }
  return null;
}

/**
 * Why an IP address may not be loaded under this policy, or null. By default only global unicast
 * addresses pass (ipaddr.js' `unicast` range: not loopback, private, link-local, CGNAT, unique-local,
 * multicast, reserved, ...); IPv6 forms that embed an IPv4 address and deprecated site-local are refused.
 */
export function addressProblem(address: string, allowPrivateNetwork: boolean): string | null {
  let ip: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    ip = ipaddr.parse(address);
  } catch {
    return `${address} is not an IP address`;
  }
  const text = ip.toString();
  const embedded = ip.kind() === "ipv6" ? embeddedIPv4(ip as ipaddr.IPv6) : null;
  if (METADATA_ADDRESSES.has(text) || (embedded && METADATA_ADDRESSES.has(embedded.toString()))) {
    return `${address} is a cloud metadata address`;
  }
  const range = ip.range();
  if (range === "unspecified" || embedded?.range() === "unspecified") {
    return `${address} is the unspecified address (it reaches this machine)`;
  }
  if (allowPrivateNetwork) return null;
  if (embedded) return `${address} is an IPv6 form of the IPv4 address ${embedded.toString()}`;
  if (ip.kind() === "ipv6" && (ip as ipaddr.IPv6).match(ipaddr.IPv6.parse("fec0::"), 10)) {
    return `${address} is a site-local address`;
  }
  if (range !== "unicast") return `${address} is a ${describe(range)} address`;
  return null;
}

function describe(range: string): string {
  const names: Record<string, string> = {
    loopback: "loopback",
    private: "private (RFC 1918)",
    linkLocal: "link-local",
    carrierGradeNat: "carrier-grade NAT (RFC 6598)",
    uniqueLocal: "unique-local (fc00::/7)",
    multicast: "multicast",
    broadcast: "broadcast",
    reserved: "reserved",
    benchmarking: "benchmarking",
  };
  return names[range] ?? `non-public (${range})`;
}
