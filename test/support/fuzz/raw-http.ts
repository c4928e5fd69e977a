import { connect } from 'node:net';

// A raw HTTP/1.1 client for the fuzzer: it writes exactly the bytes asked for (duplicate and
// malformed headers, conflicting lengths, invalid UTF-8 in the target, `..` segments) that fetch
// would refuse to send or normalise away, and reads one response on a fresh loopback connection.

/** A request as bytes on the wire: `headers` are written in order, duplicates included. */
export type RawRequest = {
  method: string;
  /** The request target, written as is (no normalisation, no encoding). */
  target: string;
  headers: [string, string][];
  body?: Buffer;
  /** Adds `Content-Length` for the body unless a header already sets the framing (default true). */
  frame?: boolean;
  /** Sends no Host header at all (HTTP/1.1 requires one). */
  omitHost?: boolean;
};

/** What came back. `headers` are lower-cased; repeated ones are joined with ", ". */
export type RawResponse = {
  status: number;
  headers: Record<string, string>;
  setCookies: string[];
  body: string;
  /** The status line and headers as received (for checks on framing). */
  head: string;
};

/** Writes one request to `host:port` and resolves with the response (or rejects after `timeoutMs`). */
export function rawRequest(
  origin: { host: string; port: number },
  request: RawRequest,
  timeoutMs = 15_000,
): Promise<RawResponse> {
  const body = request.body ?? Buffer.alloc(0);
  const names = new Set(request.headers.map(([n]) => n.toLowerCase()));
  const lines = [`${request.method} ${request.target} HTTP/1.1`];
  if (!names.has('host') && !request.omitHost) lines.push(`Host: ${origin.host}:${origin.port}`);
  for (const [name, value] of request.headers) lines.push(`${name}: ${value}`);
  const framed = names.has('content-length') || names.has('transfer-encoding');
  if (request.frame !== false && !framed && (body.length > 0 || request.method !== 'GET'))
    lines.push(`Content-Length: ${body.length}`);
  if (!names.has('connection')) lines.push('Connection: close');
  const bytes = Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);

  return new Promise((resolve, reject) => {
    const socket = connect(origin.port, origin.host);
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) return reject(error);
      const parsed = parse(Buffer.concat(chunks));
      if (parsed) resolve(parsed);
      else reject(new Error(`no HTTP response (${Buffer.concat(chunks).length} bytes)`));
    };
    const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // The server may close while we are still writing a body it refused (413): keep what it said.
      if (chunks.length > 0 && (error.code === 'EPIPE' || error.code === 'ECONNRESET')) finish();
      else finish(error);
    });
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (complete(Buffer.concat(chunks))) finish();
    });
    socket.on('end', () => finish());
    socket.write(bytes);
  });
}

function splitHead(data: Buffer): { head: string; rest: Buffer } | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  return { head: data.subarray(0, end).toString('latin1'), rest: data.subarray(end + 4) };
}

function headerMap(head: string): { status: number; headers: Record<string, string>; setCookies: string[] } {
  const [statusLine, ...lines] = head.split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
  const headers: Record<string, string> = {};
  const setCookies: string[] = [];
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'set-cookie') setCookies.push(value);
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return { status, headers, setCookies };
}

/** True once one whole response is in `data` (a stream that started counts as whole). */
function complete(data: Buffer): boolean {
  const split = splitHead(data);
  if (!split) return false;
  const { headers, status } = headerMap(split.head);
  if (status === 204 || status === 304) return true;
  if ((headers['content-type'] ?? '').includes('text/event-stream')) return true;
  if (headers['content-length'] !== undefined) return split.rest.length >= Number(headers['content-length']);
  if (/chunked/i.test(headers['transfer-encoding'] ?? ''))
    return split.rest.includes('\r\n0\r\n\r\n') || split.rest.subarray(0, 5).toString() === '0\r\n\r\n';
  return false;
}

function dechunk(data: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  while (at < data.length) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd < 0) break;
    const size = Number.parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    out.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(out);
}

function parse(data: Buffer): RawResponse | undefined {
  const split = splitHead(data);
  if (!split) return undefined;
  const { status, headers, setCookies } = headerMap(split.head);
  if (status === 0) return undefined;
  let rest = split.rest;
  if (headers['content-length'] !== undefined) rest = rest.subarray(0, Number(headers['content-length']));
  else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) rest = dechunk(rest);
  if ((headers['content-type'] ?? '').includes('text/event-stream')) rest = Buffer.alloc(0);
  return { status, headers, setCookies, body: rest.toString('utf8'), head: split.head };
}
