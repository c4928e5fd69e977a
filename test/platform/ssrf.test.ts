import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/platform/config.ts';
import {
  allowPrivateUrls,
  checkUrl,
  classifyAddress,
  createUrlGuard,
  embeddedIpv4,
  type Resolver,
} from '../../src/platform/net/ssrf.ts';

// The SSRF guard's unit tests (issue 16): address classes, every way of writing an address, names
// resolving to private addresses, schemes, and the configuration switch. No DNS is asked: names go
// through a fake resolver.

const fakeDns: Record<string, string[]> = {
  'example.com': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
  'intranet.example': ['10.1.2.3'],
  'rebind.example': ['93.184.215.14', '127.0.0.1'],
  'metadata.example': ['169.254.169.254'],
  'v6private.example': ['fd12:3456::1'],
  'mapped.example': ['::ffff:192.168.1.1'],
};
const resolve: Resolver = async (host) => {
  const addresses = fakeDns[host];
  if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};
const strict = { allowPrivate: false, resolve };
const refused = async (url: string) => {
  const result = await checkUrl(url, strict);
  return result.ok ? 'allowed' : result.code;
};

describe('classifyAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.1', 'private'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['169.254.169.254', 'metadata'],
    ['169.254.1.1', 'link-local'],
    ['224.0.0.251', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.10', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['fe80::1', 'link-local'],
    ['fc00::1', 'private'],
    ['fd00:ec2::254', 'metadata'],
    ['fd12:3456:789a::1', 'private'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'reserved'],
    // IPv6 carrying an IPv4 address is judged by the IPv4 one.
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:a9fe:a9fe', 'metadata'],
    ['::ffff:10.0.0.1', 'private'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b::192.168.0.1', 'private'],
    ['2002:7f00:1::1', 'loopback'],
    ['2002:c0a8:101::1', 'private'],
    ['::127.0.0.1', 'loopback'],
  ])('%s is %s', (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });

  it.each([
    '93.184.215.14',
    '8.8.8.8',
    '172.32.0.1',
    '100.128.0.1',
    '169.253.255.255',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2002:808:808::1',
  ])('%s is public', (address) => {
    expect(classifyAddress(address)).toBeUndefined();
  });

  it('reads the IPv4 address inside IPv6 forms', () => {
    expect(embeddedIpv4('::ffff:1.2.3.4')).toBe('1.2.3.4');
    expect(embeddedIpv4('::ffff:102:304')).toBe('1.2.3.4');
    expect(embeddedIpv4('64:ff9b::102:304')).toBe('1.2.3.4');
    expect(embeddedIpv4('2002:102:304::')).toBe('1.2.3.4');
    expect(embeddedIpv4('2606:4700::1111')).toBeUndefined();
    expect(embeddedIpv4('::1')).toBeUndefined();
  });

  it('treats anything that is not an IP literal as not public', () => {
    expect(classifyAddress('not-an-ip')).toBe('reserved');
  });
});

describe('checkUrl (production mode)', () => {
  it('allows public hosts and returns the addresses to connect to', async () => {
    const result = await checkUrl('https://example.com/hooks?x=1', strict);
    expect(result).toMatchObject({ ok: true, addresses: fakeDns['example.com'] });
    expect(await refused('http://93.184.215.14:8080/in')).toBe('allowed');
    expect(await refused('https://[2606:4700:4700::1111]/in')).toBe('allowed');
  });

  it('refuses loopback, private, link-local and metadata literals however they are written', async () => {
    for (const url of [
      'http://127.0.0.1/',
      'http://127.1/',
      'http://2130706433/', // decimal
      'http://0x7f000001/', // hex
      'http://0x7f.0.0.1/',
      'http://017700000001/', // octal
      'http://0177.0.0.1/',
      'http://0/',
      'http://0.0.0.0:3000/',
      'http://10.0.0.1/',
      'http://3232235777/', // 192.168.1.1
      'http://169.254.169.254/latest/meta-data/',
      'http://2852039166/', // 169.254.169.254
      'http://[::1]/',
      'http://[::]/',
      'http://[::ffff:127.0.0.1]/',
      'http://[::ffff:7f00:1]/',
      'http://[::ffff:169.254.169.254]/',
      'http://[fd00:ec2::254]/',
      'http://[fe80::1%25eth0]/',
      'http://[fc00::1]/',
      'http://[ff02::1]/',
      'http://100.64.0.1/',
      'http://224.0.0.1/',
      'http://localhost:3000/',
      'http://LOCALHOST/',
      'http://api.localhost/',
      'http://127.0.0.1./',
    ]) {
      expect(await refused(url), url).toBe('URL_NOT_ALLOWED');
    }
  });

  it('refuses names that resolve to a private address, even when only one answer is private', async () => {
    expect(await refused('https://intranet.example/')).toBe('URL_NOT_ALLOWED');
    expect(await refused('https://rebind.example/')).toBe('URL_NOT_ALLOWED');
    expect(await refused('https://metadata.example/')).toBe('URL_NOT_ALLOWED');
    expect(await refused('https://v6private.example/')).toBe('URL_NOT_ALLOWED');
    expect(await refused('https://mapped.example/')).toBe('URL_NOT_ALLOWED');
    expect(await refused('https://nowhere.example/')).toBe('URL_UNRESOLVABLE');
  });

  it('refuses other schemes and credentials in the URL', async () => {
    for (const url of [
      'file:///etc/passwd',
      'gopher://example.com/',
      'ftp://example.com/',
      'javascript:alert(1)',
      'data:text/plain,hi',
    ]) {
      expect(await refused(url), url).toBe('URL_SCHEME_NOT_ALLOWED');
    }
    expect(await refused('https://user:pass@example.com/')).toBe('URL_NOT_ALLOWED');
    expect(await refused('not a url')).toBe('URL_NOT_ALLOWED');
  });

  it('tells the reason without the resolved address', async () => {
    const result = await checkUrl('https://intranet.example/', strict);
    expect(result).toMatchObject({ ok: false, reason: 'host resolves to a private address' });
    expect(JSON.stringify(result)).not.toContain('10.1.2.3');
  });
});

describe('configuration', () => {
  it('allows private addresses in development and test, refuses them in production, and obeys the flag', async () => {
    expect(allowPrivateUrls({ NODE_ENV: 'test', ALLOW_PRIVATE_URLS: undefined })).toBe(true);
    expect(allowPrivateUrls({ NODE_ENV: 'development', ALLOW_PRIVATE_URLS: undefined })).toBe(true);
    expect(allowPrivateUrls({ NODE_ENV: 'production', ALLOW_PRIVATE_URLS: undefined })).toBe(false);
    expect(allowPrivateUrls({ NODE_ENV: 'test', ALLOW_PRIVATE_URLS: false })).toBe(false);
    expect(allowPrivateUrls({ NODE_ENV: 'production', ALLOW_PRIVATE_URLS: true })).toBe(true);
    expect(
      loadConfig({ NODE_ENV: 'test', ALLOW_PRIVATE_URLS: 'false', STOREOPS_DATA_DIR: '/tmp/x' }),
    ).toMatchObject({ ALLOW_PRIVATE_URLS: false });
    expect(() => loadConfig({ NODE_ENV: 'test', ALLOW_PRIVATE_URLS: 'maybe' })).toThrow(/ALLOW_PRIVATE_URLS/);

    const open = createUrlGuard({ NODE_ENV: 'test', ALLOW_PRIVATE_URLS: undefined }, resolve);
    await expect(open.assertPublicUrl('http://127.0.0.1:4100/hook', 'uri')).resolves.toBeDefined();
    // Even with private addresses allowed, only http(s) is.
    await expect(open.assertPublicUrl('file:///etc/passwd', 'uri')).rejects.toMatchObject({
      status: 422,
      code: 'URL_SCHEME_NOT_ALLOWED',
    });
    const closed = createUrlGuard({ NODE_ENV: 'production', ALLOW_PRIVATE_URLS: undefined }, resolve);
    await expect(closed.assertPublicUrl('http://[::ffff:127.0.0.1]/', 'uri')).rejects.toMatchObject({
      status: 422,
      code: 'URL_NOT_ALLOWED',
      details: { field: 'uri' },
    });
  });
});
