-- The inbox becomes provider-neutral: a source per row and a per-source dedupe key. Existing rows
-- are Shopify deliveries; their key is derived from the old unique pair (neither part can hold a
-- '/'), so uniqueness carries over unchanged and Shopify's retries of stored rows still collide.
ALTER TABLE "webhook_inbox" ADD COLUMN "source" text DEFAULT 'shopify' NOT NULL;--> statement-breakpoint
ALTER TABLE "webhook_inbox" ADD COLUMN "dedupe_key" text;--> statement-breakpoint
UPDATE "webhook_inbox" SET "dedupe_key" = "shop_domain" || '/' || "webhook_id";--> statement-breakpoint
ALTER TABLE "webhook_inbox" ALTER COLUMN "dedupe_key" SET NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "webhook_inbox_dedupe_key" ON "webhook_inbox" USING btree ("source","dedupe_key");--> statement-breakpoint
DROP INDEX "webhook_inbox_delivery_key";--> statement-breakpoint
CREATE INDEX "webhook_inbox_orphans_idx" ON "webhook_inbox" USING btree ("shop_domain","received_at") WHERE status = 'orphaned';
