ALTER TABLE "webhook_inbox" DROP CONSTRAINT "webhook_inbox_tenant_id_tenants_id_fk";
