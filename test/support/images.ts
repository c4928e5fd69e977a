import sharp from 'sharp';
import { authHeaders, type Credentials } from './identity.ts';
import type { TestServer } from './server.ts';

/** A solid-colour test picture made with sharp, in the format asked for. */
export function picture(
  format: 'png' | 'jpeg' | 'webp' | 'gif',
  width: number,
  height: number,
  colour = '#3366cc',
): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: colour } })
    .toFormat(format)
    .toBuffer();
}

/** Uploads `file` as multipart/form-data (field `file`) to a product's images. */
export async function uploadImage(
  server: TestServer,
  credentials: Credentials,
  tenantId: string,
  productId: string,
  file: { bytes: Uint8Array; name: string; type: string },
  fields: Record<string, string> = {},
  headers: Record<string, string> = {},
) {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append('file', new Blob([file.bytes], { type: file.type }), file.name);
  const res = await server.fetch(`/api/v1/tenants/${tenantId}/catalog/products/${productId}/images`, {
    method: 'POST',
    headers: { ...authHeaders(credentials), ...headers },
    body: form,
  });
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body, headers: res.headers, text };
}

/** GETs a stored object's URL (relative ones from the server) and decodes what came back. */
export async function fetchObject(server: TestServer, url: string) {
  const res = url.startsWith('/') ? await server.fetch(url) : await fetch(url);
  const bytes = Buffer.from(await res.arrayBuffer());
  const meta =
    res.ok && res.headers.get('content-type')?.startsWith('image/')
      ? await sharp(bytes).metadata()
      : undefined;
  return { status: res.status, headers: res.headers, bytes, width: meta?.width, format: meta?.format };
}
