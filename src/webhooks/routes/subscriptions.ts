import { z } from 'zod';
import type { App } from '../../platform/http/server.ts';
import {
  ensureResultSchema,
  registerBody,
  settingsBody,
  subscriptionParams,
  subscriptionSchema,
  subscriptionSettingsSchema,
  tenantParams,
} from '../api.ts';
import type { Subscription, Subscriptions } from '../subscriptions.ts';
import { BASE, errors, MANAGE, tenantOf } from './shared.ts';

const numericId = (gid: string) => gid.slice(gid.lastIndexOf('/') + 1);
const subscriptionView = (s: Subscription) => ({ ...s, id: numericId(s.id), gid: s.id });

/** The shop's webhook subscriptions at Shopify (Admin API) and the desired topics. */
export function registerSubscriptionRoutes(app: App, deps: { subscriptions: Subscriptions }): void {
  const base = BASE;
  app.get(
    `${base}/webhook-subscriptions`,
    {
      config: { access: MANAGE },
      schema: {
        tags: ['webhook subscriptions'],
        summary: "The shop's webhook subscriptions, as Shopify reports them",
        params: tenantParams,
        response: { 200: z.object({ subscriptions: z.array(subscriptionSchema) }), ...errors },
      },
    },
    async (request) => ({
      subscriptions: (await deps.subscriptions.list(tenantOf(request))).map(subscriptionView),
    }),
  );

  app.post(
    `${base}/webhook-subscriptions`,
    {
      config: { access: MANAGE },
      schema: {
        tags: ['webhook subscriptions'],
        summary: 'Register a webhook subscription at Shopify (address defaults to this server)',
        params: tenantParams,
        body: registerBody,
        response: { 201: subscriptionSchema, ...errors },
      },
    },
    async (request, reply) => {
      const created = await deps.subscriptions.register(tenantOf(request), request.body);
      return reply.status(201).send(subscriptionView(created));
    },
  );

  app.post(
    `${base}/webhook-subscriptions/ensure`,
    {
      config: { access: MANAGE },
      schema: {
        tags: ['webhook subscriptions'],
        summary: 'Make the shop match the desired topics: register the missing (in parallel), remove strays',
        params: tenantParams,
        response: { 200: ensureResultSchema, ...errors },
      },
    },
    async (request) => {
      const result = await deps.subscriptions.ensure(tenantOf(request));
      return {
        ...result,
        created: result.created.map(subscriptionView),
        deleted: result.deleted.map((d) => ({ ...d, id: numericId(d.id), gid: d.id })),
      };
    },
  );

  app.get(
    `${base}/webhook-subscriptions/settings`,
    {
      config: { access: MANAGE },
      schema: {
        tags: ['webhook subscriptions'],
        summary: 'The desired topics and the last ensure result',
        params: tenantParams,
        response: { 200: subscriptionSettingsSchema, ...errors },
      },
    },
    async (request) => deps.subscriptions.settings(tenantOf(request)),
  );

  app.put(
    `${base}/webhook-subscriptions/settings`,
    {
      config: { access: MANAGE },
      schema: {
        tags: ['webhook subscriptions'],
        summary: 'Set the desired topics (null: the default set); run ensure to apply them',
        params: tenantParams,
        body: settingsBody,
        response: { 200: subscriptionSettingsSchema, ...errors },
      },
    },
    async (request) => {
      const tenantId = tenantOf(request);
      await deps.subscriptions.setDesiredTopics(tenantId, request.body.topics);
      return deps.subscriptions.settings(tenantId);
    },
  );

  app.get(
    `${base}/webhook-subscriptions/:id`,
    {
      config: { access: MANAGE },
      schema: {
        tags: ['webhook subscriptions'],
        summary: 'One webhook subscription',
        params: subscriptionParams,
        response: { 200: subscriptionSchema, ...errors },
      },
    },
    async (request) =>
      subscriptionView(
        await deps.subscriptions.get(
          tenantOf(request),
          `gid://shopify/WebhookSubscription/${request.params.id}`,
        ),
      ),
  );

  app.delete(
    `${base}/webhook-subscriptions/:id`,
    {
      config: { access: MANAGE },
      schema: {
        tags: ['webhook subscriptions'],
        summary: 'Delete a webhook subscription at Shopify',
        params: subscriptionParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (request, reply) => {
      await deps.subscriptions.remove(
        tenantOf(request),
        `gid://shopify/WebhookSubscription/${request.params.id}`,
      );
      return reply.status(204).send(null);
    },
  );
}
