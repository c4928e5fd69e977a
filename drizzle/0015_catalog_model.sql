-- Trigram similarity (typo-tolerant catalog search). A trusted extension since PostgreSQL 13: the
-- database owner may create it; PGlite loads it as a bundled extension (src/platform/db/client.ts).
CREATE EXTENSION IF NOT EXISTS pg_trgm;--> statement-breakpoint
CREATE TABLE "catalog_categories" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"parent_id" uuid,
	"name" text NOT NULL,
	"handle" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"position" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "catalog_categories_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "catalog_images" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"product_id" uuid NOT NULL,
	"variant_id" uuid,
	"storage_key" text NOT NULL,
	"content_type" text NOT NULL,
	"width" integer NOT NULL,
	"height" integer NOT NULL,
	"bytes" integer NOT NULL,
	"widths" integer[] NOT NULL,
	"alt" text DEFAULT '' NOT NULL,
	"position" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "catalog_images_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "catalog_inventory" (
	"tenant_id" uuid NOT NULL,
	"variant_id" uuid NOT NULL,
	"location_id" uuid NOT NULL,
	"on_hand" integer DEFAULT 0 NOT NULL,
	"reserved" integer DEFAULT 0 NOT NULL,
	"allow_backorder" boolean DEFAULT false NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "catalog_inventory_tenant_id_variant_id_location_id_pk" PRIMARY KEY("tenant_id","variant_id","location_id"),
	CONSTRAINT "catalog_inventory_reserved_check" CHECK ("catalog_inventory"."reserved" >= 0),
	CONSTRAINT "catalog_inventory_oversell_check" CHECK ("catalog_inventory"."allow_backorder" OR "catalog_inventory"."reserved" <= "catalog_inventory"."on_hand")
);
--> statement-breakpoint
CREATE TABLE "catalog_inventory_ledger" (
	"tenant_id" uuid NOT NULL,
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "catalog_inventory_ledger_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"variant_id" uuid NOT NULL,
	"location_id" uuid NOT NULL,
	"reason" text NOT NULL,
	"on_hand_delta" integer DEFAULT 0 NOT NULL,
	"reserved_delta" integer DEFAULT 0 NOT NULL,
	"on_hand_after" integer NOT NULL,
	"reserved_after" integer NOT NULL,
	"actor" text NOT NULL,
	"note" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "catalog_inventory_ledger_reason_check" CHECK ("catalog_inventory_ledger"."reason" IN ('received', 'sold', 'returned', 'correction', 'reserved', 'released'))
);
--> statement-breakpoint
CREATE TABLE "catalog_locations" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "catalog_locations_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "catalog_products" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"handle" text NOT NULL,
	"title" text NOT NULL,
	"description_html" text DEFAULT '' NOT NULL,
	"description_text" text DEFAULT '' NOT NULL,
	"status" text DEFAULT 'draft' NOT NULL,
	"vendor" text,
	"tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"category_id" uuid,
	"seo_title" text,
	"seo_description" text,
	"min_price" bigint,
	"max_price" bigint,
	"version" integer DEFAULT 1 NOT NULL,
	"search" "tsvector" DEFAULT ''::tsvector NOT NULL,
	"search_text" text DEFAULT '' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "catalog_products_tenant_id_id_pk" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "catalog_products_status_check" CHECK ("catalog_products"."status" IN ('draft', 'active', 'archived')),
	CONSTRAINT "catalog_products_price_check" CHECK ("catalog_products"."min_price" >= 0 AND "catalog_products"."max_price" >= "catalog_products"."min_price")
);
--> statement-breakpoint
CREATE TABLE "catalog_settings" (
	"tenant_id" uuid PRIMARY KEY NOT NULL,
	"ship_to_countries" text[],
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "catalog_stock_alerts" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"variant_id" uuid NOT NULL,
	"available" integer NOT NULL,
	"threshold" integer NOT NULL,
	"raised_at" timestamp with time zone DEFAULT now() NOT NULL,
	"notified_at" timestamp with time zone,
	"resolved_at" timestamp with time zone,
	CONSTRAINT "catalog_stock_alerts_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "catalog_variants" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"product_id" uuid NOT NULL,
	"sku" text,
	"title" text DEFAULT 'Default' NOT NULL,
	"option1" text,
	"option2" text,
	"option3" text,
	"price" bigint NOT NULL,
	"compare_at_price" bigint,
	"weight_grams" integer,
	"barcode" text,
	"allow_backorder" boolean DEFAULT false NOT NULL,
	"low_stock_threshold" integer DEFAULT 5 NOT NULL,
	"position" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "catalog_variants_tenant_id_id_pk" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "catalog_variants_price_check" CHECK ("catalog_variants"."price" >= 0 AND ("catalog_variants"."compare_at_price" IS NULL OR "catalog_variants"."compare_at_price" >= 0)),
	CONSTRAINT "catalog_variants_threshold_check" CHECK ("catalog_variants"."low_stock_threshold" >= 0)
);
--> statement-breakpoint
ALTER TABLE "catalog_categories" ADD CONSTRAINT "catalog_categories_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "catalog_categories" ADD CONSTRAINT "catalog_categories_parent_fk" FOREIGN KEY ("tenant_id","parent_id") REFERENCES "public"."catalog_categories"("tenant_id","id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "catalog_images" ADD CONSTRAINT "catalog_images_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "catalog_images" ADD CONSTRAINT "catalog_images_product_fk" FOREIGN KEY ("tenant_id","product_id") REFERENCES "public"."catalog_products"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "catalog_images" ADD CONSTRAINT "catalog_images_variant_fk" FOREIGN KEY ("tenant_id","variant_id") REFERENCES "public"."catalog_variants"("tenant_id","id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "catalog_inventory" ADD CONSTRAINT "catalog_inventory_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "catalog_inventory" ADD CONSTRAINT "catalog_inventory_variant_fk" FOREIGN KEY ("tenant_id","variant_id") REFERENCES "public"."catalog_variants"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "catalog_inventory" ADD CONSTRAINT "catalog_inventory_location_fk" FOREIGN KEY ("tenant_id","location_id") REFERENCES "public"."catalog_locations"("tenant_id","id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "catalog_inventory_ledger" ADD CONSTRAINT "catalog_inventory_ledger_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "catalog_locations" ADD CONSTRAINT "catalog_locations_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "catalog_products" ADD CONSTRAINT "catalog_products_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "catalog_products" ADD CONSTRAINT "catalog_products_category_fk" FOREIGN KEY ("tenant_id","category_id") REFERENCES "public"."catalog_categories"("tenant_id","id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "catalog_settings" ADD CONSTRAINT "catalog_settings_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "catalog_stock_alerts" ADD CONSTRAINT "catalog_stock_alerts_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "catalog_stock_alerts" ADD CONSTRAINT "catalog_stock_alerts_variant_fk" FOREIGN KEY ("tenant_id","variant_id") REFERENCES "public"."catalog_variants"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "catalog_variants" ADD CONSTRAINT "catalog_variants_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "catalog_variants" ADD CONSTRAINT "catalog_variants_product_fk" FOREIGN KEY ("tenant_id","product_id") REFERENCES "public"."catalog_products"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "catalog_categories_handle_key" ON "catalog_categories" USING btree ("tenant_id","handle");--> statement-breakpoint
CREATE INDEX "catalog_categories_parent_idx" ON "catalog_categories" USING btree ("tenant_id","parent_id","position");--> statement-breakpoint
CREATE INDEX "catalog_images_product_idx" ON "catalog_images" USING btree ("tenant_id","product_id","position");--> statement-breakpoint
CREATE INDEX "catalog_inventory_ledger_variant_idx" ON "catalog_inventory_ledger" USING btree ("tenant_id","variant_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "catalog_locations_name_key" ON "catalog_locations" USING btree ("tenant_id","name");--> statement-breakpoint
CREATE UNIQUE INDEX "catalog_products_handle_key" ON "catalog_products" USING btree ("tenant_id","handle");--> statement-breakpoint
CREATE INDEX "catalog_products_list_idx" ON "catalog_products" USING btree ("tenant_id","status","created_at","id");--> statement-breakpoint
CREATE INDEX "catalog_products_category_idx" ON "catalog_products" USING btree ("tenant_id","category_id","status","created_at","id");--> statement-breakpoint
CREATE INDEX "catalog_products_search_idx" ON "catalog_products" USING gin ("search");--> statement-breakpoint
CREATE INDEX "catalog_products_trgm_idx" ON "catalog_products" USING gin ("search_text" gin_trgm_ops);--> statement-breakpoint
CREATE UNIQUE INDEX "catalog_stock_alerts_open_key" ON "catalog_stock_alerts" USING btree ("tenant_id","variant_id") WHERE "catalog_stock_alerts"."resolved_at" IS NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "catalog_variants_sku_key" ON "catalog_variants" USING btree ("tenant_id","sku") WHERE "catalog_variants"."sku" IS NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "catalog_variants_options_key" ON "catalog_variants" USING btree ("tenant_id","product_id",coalesce("option1", ''),coalesce("option2", ''),coalesce("option3", ''));--> statement-breakpoint
CREATE INDEX "catalog_variants_product_idx" ON "catalog_variants" USING btree ("tenant_id","product_id","position");