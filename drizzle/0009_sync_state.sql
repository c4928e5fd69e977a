CREATE TABLE "shopify_rate_budgets" (
	"shop_domain" text PRIMARY KEY NOT NULL,
	"available" double precision NOT NULL,
	"maximum" double precision NOT NULL,
	"restore_rate" double precision NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"throttled_count" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sync_runs" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"resource" text NOT NULL,
	"mode" text NOT NULL,
	"status" text NOT NULL,
	"trigger" text NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"report" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"error" text
);
--> statement-breakpoint
CREATE TABLE "sync_state" (
	"tenant_id" uuid NOT NULL,
	"resource" text NOT NULL,
	"status" text DEFAULT 'idle' NOT NULL,
	"run_id" uuid,
	"lease_until" timestamp with time zone,
	"mode" text,
	"backfill" jsonb,
	"updated_at_cursor" timestamp with time zone,
	"backfilled_at" timestamp with time zone,
	"last_incremental_at" timestamp with time zone,
	"last_reconcile_at" timestamp with time zone,
	"done" bigint DEFAULT 0 NOT NULL,
	"total" bigint,
	"rate" double precision,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"last_error" text,
	"last_error_at" timestamp with time zone,
	"incremental_every_minutes" integer,
	"reconcile_every_hours" integer,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sync_state_tenant_id_resource_pk" PRIMARY KEY("tenant_id","resource")
);
--> statement-breakpoint
ALTER TABLE "sync_runs" ADD CONSTRAINT "sync_runs_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sync_state" ADD CONSTRAINT "sync_state_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "sync_runs_tenant_idx" ON "sync_runs" USING btree ("tenant_id","started_at");