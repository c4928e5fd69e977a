import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShopifySim } from '../../../src/devtools/shopify-sim/index.ts';
import { API_KEY, API_SECRET, eventually, fullToken, gql, startReceiver, startSim } from './helpers.ts';

// The `appUninstall` mutation, as documented at
// https://shopify.dev/docs/api/admin-graphql/latest/mutations/appUninstall (added in 2025-07:
// https://shopify.dev/changelog/new-appuninstall-mutation-to-allow-apps-to-uninstall-themselves).
// No arguments; returns AppUninstallPayload { app: App, userErrors: [AppUninstallAppUninstallError!]! }.

const UNINSTALL = 'mutation { appUninstall { app { id } userErrors { field message } } }';
const INVALID_TOKEN = '[API] Invalid API key or access token (unrecognized login or wrong password)';

let sim: ShopifySim;

beforeAll(async () => {
  sim = await startSim({ timeScale: 0.0001 });
});
afterAll(async () => {
  await sim.close();
});

async function refresh(shop: string, refreshToken: string) {
  const res = await fetch(`${sim.url}/${shop}/admin/oauth/access_token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_id: API_KEY,
      client_secret: API_SECRET,
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
    }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe('appUninstall', () => {
  it('answers the documented payload at the documented mutation cost (10)', async () => {
    const shop = 'uninstall-shape.myshopify.com';
    const res = await gql(sim, shop, fullToken(sim, shop), UNINSTALL);
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data).toEqual({
      appUninstall: { app: { id: expect.stringMatching(/^gid:\/\/shopify\/App\/\d+$/) }, userErrors: [] },
    });
    expect(res.body.extensions.cost).toMatchObject({ requestedQueryCost: 10, actualQueryCost: 10 });
    // The app is the same one every time (one app per simulator), and exposes its client id.
    const again = 'uninstall-shape-2.myshopify.com';
    const second = await gql(
      sim,
      again,
      fullToken(sim, again),
      'mutation { appUninstall { app { id apiKey } } }',
    );
    expect(second.body.data.appUninstall.app).toEqual({
      id: res.body.data.appUninstall.app.id,
      apiKey: API_KEY,
    });
  });

  it('revokes every access and refresh token of the shop (and only that shop) like any revoked token', async () => {
    const shop = 'uninstall-tokens.myshopify.com';
    const other = 'uninstall-bystander.myshopify.com';
    const plain = fullToken(sim, shop);
    const expiring = sim.issueAccessToken(shop, { scopes: ['read_products'], expiring: true });
    const otherToken = fullToken(sim, other);
    for (const token of [plain, expiring.access_token as string])
      expect((await gql(sim, shop, token, '{ shop { name } }')).status).toBe(200);

    const res = await gql(sim, shop, expiring.access_token as string, UNINSTALL);
    expect(res.body.data.appUninstall.userErrors).toEqual([]);

    for (const token of [plain, expiring.access_token as string]) {
      const after = await gql(sim, shop, token, '{ shop { name } }');
      expect(after.status).toBe(401);
      expect(after.body).toEqual({ errors: INVALID_TOKEN });
    }
    // Calling it again with the revoked token is just another 401.
    expect((await gql(sim, shop, plain, UNINSTALL)).status).toBe(401);
    expect(await refresh(shop, expiring.refresh_token as string)).toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' },
    });
    expect((await gql(sim, other, otherToken, '{ shop { name } }')).status).toBe(200);
    expect(sim.shopInfo(shop)).toMatchObject({ installed: false });
    // Reinstalling issues a fresh token that works.
    expect((await gql(sim, shop, fullToken(sim, shop), '{ shop { name } }')).status).toBe(200);
  });

  it('sends app/uninstalled to the shop’s and the app’s subscriptions, as the control API’s uninstall does', async () => {
    const shop = 'uninstall-hooks.myshopify.com';
    const rx = await startReceiver();
    try {
      const token = fullToken(sim, shop);
      const created = await gql(
        sim,
        shop,
        token,
        `mutation($uri: String!) {
          webhookSubscriptionCreate(topic: APP_UNINSTALLED, webhookSubscription: { uri: $uri, format: JSON }) {
            userErrors { message }
          }
        }`,
        { uri: rx.url },
      );
      expect(created.body.data.webhookSubscriptionCreate.userErrors).toEqual([]);
      sim.setAppWebhook('app/uninstalled', rx.url);

      await gql(sim, shop, token, UNINSTALL);
      await eventually(() => rx.received.length >= 2);
      const deliveries = await sim.waitForDeliveries({ count: 2, topic: 'app/uninstalled', shop });
      expect(deliveries.map((d) => d.subscriptionId === null).sort()).toEqual([false, true]);
      expect(new Set(deliveries.map((d) => d.eventId)).size).toBe(1);
      for (const r of rx.received) {
        expect(r.headers['x-shopify-topic']).toBe('app/uninstalled');
        expect(r.headers['x-shopify-shop-domain']).toBe(shop);
        expect(r.headers['x-shopify-hmac-sha256']).toBe(
          createHmac('sha256', API_SECRET).update(r.raw).digest('base64'),
        );
        expect(JSON.parse(r.raw.toString())).toMatchObject({ myshopify_domain: shop, domain: shop });
      }
      // The shop's subscriptions went with the app.
      const fresh = fullToken(sim, shop);
      const subs = await gql(sim, shop, fresh, '{ webhookSubscriptionsCount { count } }');
      expect(subs.body.data.webhookSubscriptionsCount.count).toBe(0);
    } finally {
      sim.setAppWebhook('app/uninstalled', null);
      await rx.close();
    }
  });

  it('does not exist before API version 2025-07', async () => {
    const shop = 'uninstall-old-version.myshopify.com';
    const token = fullToken(sim, shop);
    const res = await gql(sim, shop, token, UNINSTALL, {}, '2025-04');
    expect(res.status).toBe(200);
    expect(res.body.errors).toEqual([
      expect.objectContaining({
        message: "Field 'appUninstall' doesn't exist on type 'Mutation'",
        extensions: { code: 'undefinedField', typeName: 'Mutation', fieldName: 'appUninstall' },
      }),
    ]);
    expect((await gql(sim, shop, token, '{ shop { name } }', {}, '2025-04')).status).toBe(200);
    expect(
      (await gql(sim, shop, token, UNINSTALL, {}, 'unstable')).body.data.appUninstall.userErrors,
    ).toEqual([]);
  });
});
