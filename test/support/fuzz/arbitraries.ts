import fc from 'fast-check';

// The hostile input the fuzzer draws from (issue 16), as fast-check arbitraries: strings that break
// databases, parsers and pages; values of every wrong type; bad cursors, dates and numbers; and the
// raw encodings (invalid UTF-8, lone surrogates, bad percent escapes) that only a raw request carries.

/** Strings aimed at SQL, HTML, templates, paths, prototypes, headers and text handling. */
export const INJECTIONS: readonly string[] = [
  "' OR '1'='1",
  "'; DROP TABLE tenants; --",
  '" OR ""="',
  '1; SELECT pg_sleep(0)--',
  "\\'; SELECT current_user; --",
  '$1',
  '%',
  '_',
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '"><svg/onload=alert(1)>',
  'javascript:alert(1)',
  '{{7*7}}',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, on purpose
  '${7*7}',
  '../../../../etc/passwd',
  '..\\..\\windows\\win.ini',
  '/etc/passwd\u0000.png',
  '__proto__',
  'constructor',
  'prototype',
  '{"$gt":""}',
  'a\r\nSet-Cookie: injected=1',
  '\u0000',
  'nul\u0000inside',
  '\u0001\u0002\u001f\u007f',
  '\uD800',
  'lone \uDFFF surrogate',
  '\uFFFE\uFFFF',
  '\u202Egnp.exe',
  '\u200B\u200D\uFEFF',
  'e\u0301\u0301\u0301',
  '😀👩‍👩‍👧‍👦',
  'null',
  'undefined',
  'NaN',
  'true',
  '-1',
  '0',
  '1.5',
  '1e309',
  '9'.repeat(40),
  ' ',
  '',
  '\t\n',
  'A'.repeat(300),
];

/** Long strings (the body limit of the fuzzed server is 64 KiB). */
const HUGE = [1_025, 10_000, 70_000].map((n) => 'Z'.repeat(n));

/** A hostile string: an injection, a random (possibly odd) Unicode string, or a huge one. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...INJECTIONS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...INJECTIONS), fc.string({ maxLength: 8 }))
      .map(([a, b]) => `${b}${a}${b}`),
  },
  { weight: 1, arbitrary: fc.constantFrom(...HUGE) },
);

/** Any JSON value of any type, hostile strings included, and some deep nesting. */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: hostileString },
  {
    weight: 3,
    arbitrary: fc.constantFrom<unknown>(
      null,
      true,
      false,
      0,
      -1,
      1.5,
      -0.000001,
      1e308,
      2 ** 53 + 1,
      -(2 ** 63),
      [],
      {},
      [null],
      { $gt: '' },
      JSON.parse('{"__proto__":{"admin":true}}'),
      JSON.parse('{"constructor":{"prototype":{"admin":true}}}'),
    ),
  },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.array(hostileString, { maxLength: 3 }) },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.tuple(fc.constantFrom('__proto__', 'constructor', 'a', '$where'), hostileString), {
        maxLength: 2,
      })
      .map(ownObject),
  },
  { weight: 1, arbitrary: fc.constantFrom(nest(200), nest(2_000)) },
);

/** An object with these own keys (`__proto__` included as a key, not as the prototype). */
export function ownObject(entries: [string, unknown][]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of entries)
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  return out;
}

function nest(depth: number): unknown {
  let value: unknown = 'deep';
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { a: value };
  return value;
}

/** Bad values for a date or time parameter: numbers, impossible dates, garbage. */
export const badDate: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '-1',
    '0',
    '1.5',
    '1e10',
    '-0',
    '99999999999999999999',
    'abc',
    '2024-13-45',
    '2024-02-30T25:61:61Z',
    '0000-00-00',
    '+275760-09-13T00:00:01Z',
    '-271821-04-20T00:00:00Z',
    '2024-01-01T00:00:00+99:99',
    '1970-01-01T00:00:00.000000001Z',
    'Infinity',
    'now',
    '2024-01-01\u0000',
  ),
  fc.integer().map(String),
  fc.double({ noNaN: false }).map(String),
);

/** Bad numbers for an integer parameter. */
export const badNumber: fc.Arbitrary<string> = fc.constantFrom(
  '-1',
  '0',
  '1.5',
  '1e309',
  'NaN',
  'Infinity',
  '0x10',
  '99999999999999999999999',
  '-9223372036854775809',
  ' 1',
  '1;DROP TABLE x',
  '',
);

const b64 = (value: string | Uint8Array) => Buffer.from(value).toString('base64url');

/** Cursors the API never issued: random base64url, base64url JSON with wrong fields, non-base64. */
export const badCursor: fc.Arbitrary<string> = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map(b64),
  fc
    .constantFrom<unknown>(
      { createdAt: 'bad', id: 'zz' },
      { createdAt: '2024-01-01T00:00:00Z', id: "'; DROP TABLE tenants; --" },
      { createdAt: 123, id: {} },
      { createdAt: null, id: null },
      { createdAt: '2024-01-01T00:00:00Z' },
      { id: 1 },
      { id: '00000000-0000-4000-8000-000000000000', createdAt: '-1' },
      { at: 'x', t: 'y', s: 'z', v: [] },
      JSON.parse('{"__proto__":{"admin":true}}'),
      [],
      'string',
      42,
      {},
      { createdAt: '2024-01-01 00:00:00.123456+00', id: 'nul\u0000' },
    )
    .map((v) => b64(JSON.stringify(v))),
  fc.record({ createdAt: hostileString, id: hostileString }).map((v) => b64(JSON.stringify(v))),
  fc.constantFrom('!!!', '%00', '====', 'a', 'Z'.repeat(600), '.', '\u0000'),
);

/** UTF-8 bytes of a JavaScript string, encoding lone surrogates as themselves (WTF-8): invalid UTF-8. */
export function wtf8(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    let cp = text.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    if (cp < 0x80) bytes.push(cp);
    else if (cp < 0x800) bytes.push(0xc0 | (cp >> 6), 0x80 | (cp & 63));
    else if (cp < 0x10000) bytes.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
    else bytes.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
  }
  return Buffer.from(bytes);
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** Percent-encodes a string for a path segment or query value (lone surrogates as invalid UTF-8). */
export function percentEncode(text: string): string {
  let out = '';
  for (const byte of wtf8(text)) {
    const ch = String.fromCharCode(byte);
    out += byte < 0x80 && UNRESERVED.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Raw (already encoded) path-segment and query-value attacks that no encoder would produce. */
export const RAW_SEGMENTS: readonly string[] = [
  '%00',
  'a%00b',
  '%zz',
  '%',
  '%E0%A4%A',
  '%C3%28',
  '%ED%A0%80',
  '%FF%FE',
  '%C0%AF',
  '..',
  '.',
  '%2e%2e',
  '..%2F..%2Fetc%2Fpasswd',
  '%2F',
  '%5C',
  '%0D%0ASet-Cookie:%20x=1',
  '%3Cscript%3E',
  '*',
  '~',
];

/** A hostile path segment or query value, encoded as it goes on the wire. */
export const hostileRaw: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: hostileString.filter((s) => s.length < 2_000).map(percentEncode) },
  { weight: 2, arbitrary: fc.constantFrom(...RAW_SEGMENTS) },
);

/** Content types a JSON route must refuse or cope with. */
export const CONTENT_TYPES: readonly (string | null)[] = [
  null,
  '',
  'text/plain',
  'text/html',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=fuzz',
  'multipart/form-data',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'application/json, text/html',
  'application/jsonx',
  'APPLICATION/JSON',
  'application/xml',
  'application/octet-stream',
  '*/*',
  'application/json\u0001',
];

/** Raw bodies that are not the JSON they claim to be. */
export const RAW_BODIES: readonly Buffer[] = [
  Buffer.from('{'),
  Buffer.from('{"a":'),
  Buffer.from('{"a":1,}'),
  Buffer.from("{'a':1}"),
  Buffer.from('[1,2'),
  Buffer.from('nul'),
  Buffer.from('\uFEFF{}'),
  Buffer.from('{"name":"\\u0000"}'),
  Buffer.from('{"name":"\\ud800"}'),
  Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]),
  Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]),
  Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff, 0xfe, 0x00]), Buffer.from('"}')]),
  Buffer.concat([Buffer.from('{"name":"a'), Buffer.from([0x00]), Buffer.from('b"}')]),
  Buffer.from('{"__proto__":{"admin":true},"constructor":{"prototype":{"admin":true}}}'),
  Buffer.from('{"a":1,"a":2}'),
  Buffer.from(`{"a":${'['.repeat(5_000)}${']'.repeat(5_000)}}`),
  Buffer.from(`{"a":"${'x'.repeat(70_000)}"}`),
  Buffer.alloc(0),
  Buffer.from('   '),
  Buffer.from('1e99999'),
];

/** Headers that are wrong in content (the framing attacks are in TRANSPORT). */
export const BAD_HEADERS: readonly [string, string][][] = [
  [['Authorization', 'Bearer']],
  [['Authorization', 'Bearer not.a.jwt']],
  [['Authorization', 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.']],
  [['Authorization', 'Basic !!!not-base64']],
  [['Authorization', `Basic ${Buffer.from(':').toString('base64')}`]],
  [['Authorization', `Basic ${Buffer.from("' OR 1=1--:x").toString('base64')}`]],
  [['Authorization', 'Negotiate abc']],
  [['Authorization', 'A'.repeat(8_000)]],
  [['X-API-Key', 'sok_']],
  [['X-API-Key', `sok_${'A'.repeat(12)}_${'B'.repeat(43)}`]],
  [['X-API-Key', "sok_' OR 1=1--"]],
  [['Cookie', 'storeops_session=forged-session-id']],
  [['Cookie', '=;;;=;storeops_session']],
  [['Cookie', `storeops_session=${'s'.repeat(4_000)}`]],
  [['X-CSRF-Token', 'forged']],
  [['X-Request-Id', '<script>alert(1)</script>']],
  [['X-Request-Id', 'r'.repeat(500)]],
  [['X-Forwarded-For', '127.0.0.1, evil']],
  [['Accept', 'text/html']],
  [['Accept', 'application/xml;q=1, */*;q=0']],
  [['Accept-Encoding', 'gzip, br, zstd, identity;q=0']],
  [['Range', 'bytes=0-1']],
  [['If-None-Match', '*']],
  [['Origin', 'https://evil.example']],
];

/** Framing and parser attacks, sent raw. */
export const TRANSPORT = [
  'duplicate-content-length',
  'content-length-and-chunked',
  'control-char-in-header',
  'huge-header',
  'long-parameter',
  'bad-percent-in-path',
  'duplicate-host',
  'no-host',
  'duplicate-content-type',
  'duplicate-authorization',
] as const;

/** One framing attack. */
export type TransportAttack = (typeof TRANSPORT)[number];
