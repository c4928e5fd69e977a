CREATE TABLE "shop_customers" (
	"tenant_id" uuid NOT NULL,
	"id" bigint NOT NULL,
	"email" text,
	"first_name" text,
	"last_name" text,
	"phone" text,
	"state" text,
	"tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"note" text,
	"verified_email" boolean,
	"tax_exempt" boolean,
	"currency" text,
	"orders_count" integer,
	"total_spent" numeric,
	"default_address" jsonb,
	"shopify_created_at" timestamp with time zone,
	"shopify_updated_at" timestamp with time zone,
	"redacted_at" timestamp with time zone,
	"deleted_at" timestamp with time zone,
	"source" text NOT NULL,
	"raw" jsonb,
	"synced_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "shop_customers_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "shop_order_line_items" (
	"tenant_id" uuid NOT NULL,
	"id" bigint NOT NULL,
	"order_id" bigint NOT NULL,
	"product_id" bigint,
	"variant_id" bigint,
	"title" text NOT NULL,
	"variant_title" text,
	"sku" text,
	"vendor" text,
	"quantity" integer NOT NULL,
	"price" numeric NOT NULL,
	"total_discount" numeric,
	"taxable" boolean,
	"requires_shipping" boolean,
	"fulfillable_quantity" integer,
	"fulfillment_status" text,
	CONSTRAINT "shop_order_line_items_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "shop_order_transactions" (
	"tenant_id" uuid NOT NULL,
	"id" bigint NOT NULL,
	"order_id" bigint NOT NULL,
	"parent_id" bigint,
	"kind" text NOT NULL,
	"status" text NOT NULL,
	"gateway" text,
	"amount" numeric NOT NULL,
	"currency" text,
	"processed_at" timestamp with time zone,
	CONSTRAINT "shop_order_transactions_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "shop_orders" (
	"tenant_id" uuid NOT NULL,
	"id" bigint NOT NULL,
	"name" text,
	"order_number" integer,
	"email" text,
	"phone" text,
	"customer_id" bigint,
	"currency" text,
	"financial_status" text,
	"fulfillment_status" text,
	"cancel_reason" text,
	"cancelled_at" timestamp with time zone,
	"closed_at" timestamp with time zone,
	"processed_at" timestamp with time zone,
	"subtotal_price" numeric,
	"total_discounts" numeric,
	"total_shipping" numeric,
	"total_tax" numeric,
	"total_price" numeric,
	"current_total_price" numeric,
	"tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"note" text,
	"source_name" text,
	"test" boolean DEFAULT false NOT NULL,
	"billing_address" jsonb,
	"shipping_address" jsonb,
	"shopify_created_at" timestamp with time zone,
	"shopify_updated_at" timestamp with time zone,
	"redacted_at" timestamp with time zone,
	"deleted_at" timestamp with time zone,
	"source" text NOT NULL,
	"raw" jsonb,
	"synced_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "shop_orders_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "shop_product_variants" (
	"tenant_id" uuid NOT NULL,
	"id" bigint NOT NULL,
	"product_id" bigint NOT NULL,
	"title" text,
	"sku" text,
	"barcode" text,
	"position" integer,
	"price" numeric NOT NULL,
	"compare_at_price" numeric,
	"inventory_quantity" integer,
	"inventory_item_id" bigint,
	"option1" text,
	"option2" text,
	"option3" text,
	"taxable" boolean,
	"shopify_created_at" timestamp with time zone,
	"shopify_updated_at" timestamp with time zone,
	CONSTRAINT "shop_product_variants_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "shop_products" (
	"tenant_id" uuid NOT NULL,
	"id" bigint NOT NULL,
	"title" text,
	"handle" text,
	"body_html" text,
	"vendor" text,
	"product_type" text,
	"status" text,
	"tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"published_at" timestamp with time zone,
	"shopify_created_at" timestamp with time zone,
	"shopify_updated_at" timestamp with time zone,
	"deleted_at" timestamp with time zone,
	"source" text NOT NULL,
	"raw" jsonb,
	"synced_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "shop_products_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "webhook_attempts" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "webhook_attempts_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"tenant_id" uuid NOT NULL,
	"inbox_id" bigint NOT NULL,
	"attempt" integer NOT NULL,
	"trigger" text NOT NULL,
	"outcome" text NOT NULL,
	"error" text,
	"started_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhook_compliance_requests" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"inbox_id" bigint NOT NULL,
	"topic" text NOT NULL,
	"shop_domain" text NOT NULL,
	"shopify_customer_id" bigint,
	"customer_email" text,
	"order_ids" bigint[],
	"data_request_id" bigint,
	"status" text NOT NULL,
	"requested_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone,
	"summary" jsonb,
	"export" jsonb,
	"error" text
);
--> statement-breakpoint
CREATE TABLE "webhook_event_counts" (
	"tenant_id" uuid,
	"day" date NOT NULL,
	"topic" text NOT NULL,
	"status" text NOT NULL,
	"count" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhook_event_receipts" (
	"tenant_id" uuid NOT NULL,
	"event_id" text NOT NULL,
	"inbox_id" bigint NOT NULL,
	"applied_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "webhook_event_receipts_tenant_id_event_id_pk" PRIMARY KEY("tenant_id","event_id")
);
--> statement-breakpoint
CREATE TABLE "webhook_inbox" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "webhook_inbox_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"tenant_id" uuid,
	"shop_domain" text NOT NULL,
	"topic" text NOT NULL,
	"webhook_id" text NOT NULL,
	"event_id" text,
	"triggered_at" timestamp with time zone,
	"api_version" text,
	"payload" json,
	"payload_bytes" integer NOT NULL,
	"status" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"claims" integer DEFAULT 0 NOT NULL,
	"replay" boolean DEFAULT false NOT NULL,
	"run_at" timestamp with time zone DEFAULT now() NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"processed_at" timestamp with time zone,
	"last_error" text,
	"payload_pruned_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "webhook_subscription_settings" (
	"tenant_id" uuid PRIMARY KEY NOT NULL,
	"topics" text[] NOT NULL,
	"last_ensured_at" timestamp with time zone,
	"last_ensure_result" jsonb,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "shop_customers" ADD CONSTRAINT "shop_customers_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "shop_order_line_items" ADD CONSTRAINT "shop_order_line_items_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "shop_order_transactions" ADD CONSTRAINT "shop_order_transactions_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "shop_orders" ADD CONSTRAINT "shop_orders_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "shop_product_variants" ADD CONSTRAINT "shop_product_variants_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "shop_products" ADD CONSTRAINT "shop_products_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_attempts" ADD CONSTRAINT "webhook_attempts_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_attempts" ADD CONSTRAINT "webhook_attempts_inbox_id_webhook_inbox_id_fk" FOREIGN KEY ("inbox_id") REFERENCES "public"."webhook_inbox"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_compliance_requests" ADD CONSTRAINT "webhook_compliance_requests_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_event_counts" ADD CONSTRAINT "webhook_event_counts_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_event_receipts" ADD CONSTRAINT "webhook_event_receipts_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_inbox" ADD CONSTRAINT "webhook_inbox_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_subscription_settings" ADD CONSTRAINT "webhook_subscription_settings_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "shop_customers_updated_idx" ON "shop_customers" USING btree ("tenant_id","shopify_updated_at");--> statement-breakpoint
CREATE INDEX "shop_customers_email_idx" ON "shop_customers" USING btree ("tenant_id",lower("email"));--> statement-breakpoint
CREATE INDEX "shop_order_line_items_order_idx" ON "shop_order_line_items" USING btree ("tenant_id","order_id");--> statement-breakpoint
CREATE INDEX "shop_order_line_items_product_idx" ON "shop_order_line_items" USING btree ("tenant_id","product_id");--> statement-breakpoint
CREATE INDEX "shop_order_transactions_order_idx" ON "shop_order_transactions" USING btree ("tenant_id","order_id");--> statement-breakpoint
CREATE INDEX "shop_orders_updated_idx" ON "shop_orders" USING btree ("tenant_id","shopify_updated_at");--> statement-breakpoint
CREATE INDEX "shop_orders_created_idx" ON "shop_orders" USING btree ("tenant_id","shopify_created_at");--> statement-breakpoint
CREATE INDEX "shop_orders_customer_idx" ON "shop_orders" USING btree ("tenant_id","customer_id");--> statement-breakpoint
CREATE INDEX "shop_product_variants_product_idx" ON "shop_product_variants" USING btree ("tenant_id","product_id");--> statement-breakpoint
CREATE INDEX "shop_product_variants_sku_idx" ON "shop_product_variants" USING btree ("tenant_id","sku");--> statement-breakpoint
CREATE INDEX "shop_products_updated_idx" ON "shop_products" USING btree ("tenant_id","shopify_updated_at");--> statement-breakpoint
CREATE INDEX "webhook_attempts_inbox_idx" ON "webhook_attempts" USING btree ("inbox_id");--> statement-breakpoint
CREATE UNIQUE INDEX "webhook_compliance_requests_inbox_key" ON "webhook_compliance_requests" USING btree ("inbox_id");--> statement-breakpoint
CREATE INDEX "webhook_compliance_requests_tenant_idx" ON "webhook_compliance_requests" USING btree ("tenant_id","requested_at");--> statement-breakpoint
CREATE UNIQUE INDEX "webhook_event_counts_key" ON "webhook_event_counts" USING btree (coalesce("tenant_id", '00000000-0000-0000-0000-000000000000'::uuid),"day","topic","status");--> statement-breakpoint
CREATE INDEX "webhook_event_receipts_applied_idx" ON "webhook_event_receipts" USING btree ("applied_at");--> statement-breakpoint
CREATE UNIQUE INDEX "webhook_inbox_delivery_key" ON "webhook_inbox" USING btree ("shop_domain","webhook_id");--> statement-breakpoint
CREATE INDEX "webhook_inbox_due_idx" ON "webhook_inbox" USING btree ("run_at") WHERE status IN ('pending', 'processing');--> statement-breakpoint
CREATE INDEX "webhook_inbox_tenant_idx" ON "webhook_inbox" USING btree ("tenant_id","id");--> statement-breakpoint
CREATE INDEX "webhook_inbox_dead_idx" ON "webhook_inbox" USING btree ("tenant_id","id") WHERE status = 'dead';