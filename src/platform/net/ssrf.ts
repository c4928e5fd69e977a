import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import type { Config } from '../config.ts';
import { AppError } from '../errors.ts';

/*
 * The SSRF guard (issue 16): every URL a tenant can set (a webhook subscription address today; an
 * image import URL or a notification hook later) goes through `assertPublicUrl` before it is stored
 * or fetched. It refuses schemes other than http(s), credentials in the URL, and — unless private
 * addresses are allowed (ALLOW_PRIVATE_URLS; allowed by default outside production) — any host that
 * is, or resolves to, an address that is not on the public Internet: loopback, unspecified,
 * RFC 1918 and ULA private ranges, CGNAT, link-local (cloud metadata 169.254.169.254 and
 * fd00:ec2::254 among them), multicast, broadcast, documentation and reserved ranges. IPv4 written
 * as a decimal, hex or octal number is normalised by the URL parser first; IPv6 addresses that embed
 * an IPv4 one (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16, compatible ::a.b.c.d) are
 * judged by the IPv4 address they carry. Every address a name resolves to must be public (one
 * private answer is enough to refuse), and a caller that fetches should connect to `addresses`,
 * not resolve the name again, so a DNS answer that changes in between (rebinding) cannot redirect it.
 */

/** Why an address is not public (undefined: it is). */
export type AddressClass =
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'cgnat'
  | 'link-local'
  | 'metadata'
  | 'multicast'
  | 'broadcast'
  | 'reserved';

const V4: [string, number, AddressClass][] = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'cgnat'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.169.254', 32, 'metadata'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'],
  ['192.0.2.0', 24, 'reserved'],
  ['192.88.99.0', 24, 'reserved'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'reserved'],
  ['198.51.100.0', 24, 'reserved'],
  ['203.0.113.0', 24, 'reserved'],
  ['224.0.0.0', 4, 'multicast'],
  ['255.255.255.255', 32, 'broadcast'],
  ['240.0.0.0', 4, 'reserved'],
];

const V6: [string, number, AddressClass][] = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['fd00:ec2::254', 128, 'metadata'],
  ['fc00::', 7, 'private'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'private'],
  ['ff00::', 8, 'multicast'],
  ['100::', 64, 'reserved'],
  ['2001:db8::', 32, 'reserved'],
  // Teredo and ORCHID: tunnels and identifiers, never a webhook receiver.
  ['2001::', 32, 'reserved'],
  ['2001:10::', 28, 'reserved'],
];

/** Ordered lists (first match wins: metadata before link-local, broadcast before reserved). */
const rules = [
  ...V4.map(([net, prefix, kind]) => ({ kind, type: 'ipv4' as const, list: block(net, prefix, 'ipv4') })),
  ...V6.map(([net, prefix, kind]) => ({ kind, type: 'ipv6' as const, list: block(net, prefix, 'ipv6') })),
];

function block(net: string, prefix: number, type: 'ipv4' | 'ipv6'): BlockList {
  const list = new BlockList();
  list.addSubnet(net, prefix, type);
  return list;
}

/** The 16 bytes of an IPv6 address (with or without a trailing dotted quad). */
function ipv6Bytes(address: string): number[] {
  let text = address.toLowerCase().replace(/%.*$/, '');
  const tail: number[] = [];
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad) {
    tail.push(...quad[1].split('.').map(Number));
    text = text.slice(0, -quad[1].length);
    if (text.endsWith(':') && !text.endsWith('::')) text = text.slice(0, -1);
  }
  const groupsWanted = 8 - tail.length / 2;
  const [head, rest] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = head ? head.split(':').filter(Boolean) : [];
  const right = rest ? rest.split(':').filter(Boolean) : [];
  const zeros = rest === undefined ? 0 : groupsWanted - left.length - right.length;
  const groups = [...left, ...Array(zeros).fill('0'), ...right].map((g) => Number.parseInt(g, 16));
  return [...groups.flatMap((g) => [g >> 8, g & 0xff]), ...tail];
}

/** The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4), if any. */
export function embeddedIpv4(address: string): string | undefined {
  const b = ipv6Bytes(address);
  const zero = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  const v4 = (at: number) => b.slice(at, at + 4).join('.');
  if (zero(0, 10) && b[10] === 0xff && b[11] === 0xff) return v4(12); // ::ffff:a.b.c.d
  if (zero(0, 12) && !zero(12, 16) && !(zero(12, 15) && b[15] === 1)) return v4(12); // ::a.b.c.d
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zero(4, 12)) return v4(12);
  if (b[0] === 0x20 && b[1] === 0x02) return v4(2); // 6to4
  return undefined;
}

/** Why `address` (an IP literal) is not a public address; undefined when it is. */
export function classifyAddress(address: string): AddressClass | undefined {
  const family = isIP(address);
  if (family === 0) return 'reserved';
  if (family === 6) {
    const inner = embeddedIpv4(address);
    if (inner !== undefined) return classifyAddress(inner);
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const rule of rules) if (rule.type === type && rule.list.check(address, type)) return rule.kind;
  return undefined;
}

/** Resolves a host name to every address it has (dns.lookup with all: true). */
export type Resolver = (host: string) => Promise<{ address: string; family: number }[]>;

const systemResolver: Resolver = (host) => dnsLookup(host, { all: true, verbatim: true });

/** What the guard decided. */
export type UrlCheck =
  | { ok: true; url: URL; addresses: string[] }
  | { ok: false; reason: string; code: 'URL_SCHEME_NOT_ALLOWED' | 'URL_NOT_ALLOWED' | 'URL_UNRESOLVABLE' };

/** Options of one check. */
export type UrlGuardOptions = { allowPrivate: boolean; resolve?: Resolver };

/** Checks a tenant-supplied URL (see the comment at the top). Never throws. */
export async function checkUrl(input: string, options: UrlGuardOptions): Promise<UrlCheck> {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return { ok: false, code: 'URL_NOT_ALLOWED', reason: 'not a URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return { ok: false, code: 'URL_SCHEME_NOT_ALLOWED', reason: `scheme ${url.protocol} is not http(s)` };
  if (url.username || url.password)
    return { ok: false, code: 'URL_NOT_ALLOWED', reason: 'credentials in the URL are not allowed' };
  const host = url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '');
  if (!host) return { ok: false, code: 'URL_NOT_ALLOWED', reason: 'the URL has no host' };
  if (options.allowPrivate) return { ok: true, url, addresses: [] };

  const named = isIP(host) === 0;
  if (named && (host === 'localhost' || host.endsWith('.localhost')))
    return { ok: false, code: 'URL_NOT_ALLOWED', reason: 'host is loopback' };
  let addresses: string[];
  if (!named) addresses = [host];
  else {
    try {
      addresses = (await (options.resolve ?? systemResolver)(host)).map((a) => a.address);
    } catch {
      return { ok: false, code: 'URL_UNRESOLVABLE', reason: 'host does not resolve' };
    }
    if (addresses.length === 0)
      return { ok: false, code: 'URL_UNRESOLVABLE', reason: 'host does not resolve' };
  }
  for (const address of addresses) {
    const kind = classifyAddress(address);
    if (kind) {
      return {
        ok: false,
        code: 'URL_NOT_ALLOWED',
        reason: named ? `host resolves to a ${kind} address` : `host is a ${kind} address`,
      };
    }
  }
  return { ok: true, url, addresses };
}

/** Whether a process lets tenants use private addresses: ALLOW_PRIVATE_URLS, else not in production. */
export function allowPrivateUrls(config: Pick<Config, 'ALLOW_PRIVATE_URLS' | 'NODE_ENV'>): boolean {
  return config.ALLOW_PRIVATE_URLS ?? config.NODE_ENV !== 'production';
}

/** The guard of one process, as modules receive it. */
export type UrlGuard = {
  /** Returns the checked URL, or throws 422 (`field` names the input in the error details). */
  assertPublicUrl(input: string, field: string): Promise<{ url: URL; addresses: string[] }>;
};

/** Creates the process's guard from its configuration (tests pass a resolver). */
export function createUrlGuard(
  config: Pick<Config, 'ALLOW_PRIVATE_URLS' | 'NODE_ENV'>,
  resolve?: Resolver,
): UrlGuard {
  const allowPrivate = allowPrivateUrls(config);
  return {
    async assertPublicUrl(input, field) {
      const result = await checkUrl(input, { allowPrivate, resolve });
      if (result.ok) return { url: result.url, addresses: result.addresses };
      // The reason names the kind of address, never what the host resolved to.
      throw new AppError(422, result.code, `${field}: ${result.reason}`, { details: { field } });
    },
  };
}
