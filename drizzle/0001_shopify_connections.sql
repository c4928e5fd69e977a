CREATE TABLE "shopify_connections" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"shop_domain" text NOT NULL,
	"shop_name" text,
	"status" text DEFAULT 'active' NOT NULL,
	"source" text NOT NULL,
	"scopes" text DEFAULT '' NOT NULL,
	"access_token_enc" text,
	"refresh_token_enc" text,
	"token_key_id" text,
	"token_version" integer DEFAULT 0 NOT NULL,
	"expires_at" timestamp with time zone,
	"refresh_token_expires_at" timestamp with time zone,
	"last_refreshed_at" timestamp with time zone,
	"last_error" text,
	"installed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"uninstalled_at" timestamp with time zone,
	"redact_at" timestamp with time zone,
	"redacted_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "shopify_oauth_states" (
	"state_hash" text PRIMARY KEY NOT NULL,
	"shop_domain" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "shopify_connections" ADD CONSTRAINT "shopify_connections_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "shopify_connections_shop_key" ON "shopify_connections" USING btree (lower("shop_domain"));--> statement-breakpoint
CREATE UNIQUE INDEX "shopify_connections_tenant_key" ON "shopify_connections" USING btree ("tenant_id");--> statement-breakpoint
CREATE INDEX "shopify_connections_expiry_idx" ON "shopify_connections" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "shopify_connections_key_idx" ON "shopify_connections" USING btree ("token_key_id");--> statement-breakpoint
CREATE INDEX "shopify_oauth_states_expires_idx" ON "shopify_oauth_states" USING btree ("expires_at");