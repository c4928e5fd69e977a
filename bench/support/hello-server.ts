// Baseline for bench/http.bench.ts: the bare Fastify ceiling on this machine (no plugins, no DB).
import Fastify from 'fastify';

const app = Fastify();
app.get('/hello', async () => ({ status: 'ok' }));
const address = await app.listen({ port: 0, host: '127.0.0.1' });
console.log(JSON.stringify({ msg: 'StoreOps is listening', url: address }));
process.once('SIGTERM', () => app.close().then(() => process.exit(0)));
