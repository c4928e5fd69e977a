import net from 'node:net';

/** An HTTP response read off a raw socket: status, lower-cased headers, body text. */
export type RawResponse = { status: number; headers: Record<string, string>; body: string; raw: string };

/**
 * Sends `request` (bytes exactly as given, malformed on purpose) to `url`'s host and port over a
 * plain socket and reads until the server closes the connection or `idleMs` pass without data.
 * For what fetch refuses to send: conflicting lengths, control characters, bad percent-encoding.
 */
export function rawRequest(url: string, request: string | Buffer, idleMs = 3000): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const raw = Buffer.concat(chunks).toString('latin1');
      const parsed = parseResponse(raw);
      if (!parsed) reject(new Error(`no HTTP response (got ${JSON.stringify(raw.slice(0, 200))})`));
      else resolve(parsed);
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(finish, idleMs);
    };
    socket.on('connect', () => {
      socket.write(request);
      arm();
    });
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      arm();
    });
    socket.on('error', () => finish());
    socket.on('close', () => finish());
  });
}

/** The first response in `raw` (a status line, headers, and a Content-Length body). */
export function parseResponse(raw: string): RawResponse | undefined {
  const end = raw.indexOf('\r\n\r\n');
  if (!raw.startsWith('HTTP/1.1 ') || end < 0) return undefined;
  const [statusLine, ...lines] = raw.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = raw.slice(end + 4);
  const length = headers['content-length'] === undefined ? rest.length : Number(headers['content-length']);
  return { status: Number(statusLine.split(' ')[1]), headers, body: rest.slice(0, length), raw };
}

/** A minimal request head: `head('GET', '/x', ['Host: a'])` (CRLFs and the blank line added). */
export const head = (method: string, path: string, headers: string[] = []): string =>
  `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n`;
