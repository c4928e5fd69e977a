import { z } from 'zod';
import { cursorTimestamp, decodeCursor, encodeCursor, paginationQuery } from '../../platform/http/schemas.ts';
import type { App } from '../../platform/http/server.ts';
import { complianceDetailSchema, complianceParams, complianceRequestSchema, tenantParams } from '../api.ts';
import { getComplianceRequest, listComplianceRequests } from '../events.ts';
import { BASE, errors, MANAGE, tenantOf } from './shared.ts';

/** The compliance log (GDPR requests and their outcome). */
export function registerComplianceRoutes(app: App): void {
  const base = BASE;
  const complianceView = (r: Record<string, any>) => ({
    id: r.id as string,
    eventId: Number(r.inbox_id),
    topic: r.topic as string,
    shopDomain: r.shop_domain as string,
    customerId: r.shopify_customer_id === null ? null : Number(r.shopify_customer_id),
    customerEmail: r.customer_email as string | null,
    orderIds: ((r.order_ids as (string | number)[] | null) ?? []).map(Number),
    dataRequestId: r.data_request_id === null ? null : Number(r.data_request_id),
    status: r.status,
    requestedAt: new Date(r.requested_at).toISOString(),
    completedAt: r.completed_at ? new Date(r.completed_at).toISOString() : null,
    summary: (r.summary as Record<string, unknown> | null) ?? null,
    error: r.error as string | null,
  });

  app.get(
    `${base}/compliance-requests`,
    {
      config: { access: MANAGE },
      schema: {
        tags: ['events'],
        summary:
          'The compliance log: GDPR requests (data request, customer redact, shop redact) and their outcome',
        params: tenantParams,
        querystring: paginationQuery,
        response: {
          200: z.object({ requests: z.array(complianceRequestSchema), nextCursor: z.string().nullable() }),
          ...errors,
        },
      },
    },
    async (request) => {
      const tenantId = tenantOf(request);
      const before = decodeCursor(request.query.cursor, z.object({ before: cursorTimestamp }))?.before;
      const page = await request.auth.withTenant((tx) =>
        listComplianceRequests(tx, tenantId, request.query.limit, before),
      );
      const requests = page.requests.map(complianceView);
      const last = requests.at(-1);
      return { requests, nextCursor: page.more && last ? encodeCursor({ before: last.requestedAt }) : null };
    },
  );

  app.get(
    `${base}/compliance-requests/:id`,
    {
      config: { access: MANAGE },
      schema: {
        tags: ['events'],
        summary: 'One compliance request, with the data export of a customers/data_request',
        params: complianceParams,
        response: { 200: complianceDetailSchema, ...errors },
      },
    },
    async (request) => {
      const tenantId = tenantOf(request);
      const row = await request.auth.withTenant((tx) =>
        getComplianceRequest(tx, tenantId, request.params.id),
      );
      return { ...complianceView(row), export: row.export ?? null };
    },
  );
}
