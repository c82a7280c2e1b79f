-- Custom migration (drizzle-kit cannot express partitioning): audit_logs becomes RANGE-partitioned by month
-- on created_at, on Postgres and PGlite alike (one migration set for both drivers). Columns, keys and
-- indexes are exactly those of 0000_init, so drizzle-kit's snapshot stays true for future diffs.
-- Partitions are named audit_logs_YYYY_MM (UTC months) and made by omni_ensure_audit_partition(), which
-- migrate() calls for the current and next month and the audit repository calls before appending to a
-- month it has not seen.
DROP TABLE "audit_logs";
--> statement-breakpoint
CREATE TABLE "audit_logs" (
	"id" text NOT NULL,
	"organization_id" text NOT NULL,
	"actor" text NOT NULL,
	"actor_type" text NOT NULL,
	"action" text NOT NULL,
	"target_type" text,
	"target_id" text,
	"before" jsonb,
	"after" jsonb,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"seq" bigint NOT NULL,
	"prev_hash" text,
	"hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "audit_logs_pkey" PRIMARY KEY("id","created_at"),
	CONSTRAINT "audit_logs_actor_type_check" CHECK ("audit_logs"."actor_type" in ('user', 'api_key', 'system'))
) PARTITION BY RANGE ("created_at");
--> statement-breakpoint
CREATE INDEX "audit_logs_organization_id_seq_idx" ON "audit_logs" USING btree ("organization_id","seq");
--> statement-breakpoint
CREATE INDEX "audit_logs_organization_id_created_at_idx" ON "audit_logs" USING btree ("organization_id","created_at");
--> statement-breakpoint
CREATE OR REPLACE FUNCTION omni_ensure_audit_partition(at timestamptz) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	month_utc timestamp := date_trunc('month', at AT TIME ZONE 'UTC');
	month_start timestamptz := month_utc AT TIME ZONE 'UTC';
	month_end timestamptz := (month_utc + interval '1 month') AT TIME ZONE 'UTC';
	part text := 'audit_logs_' || to_char(at AT TIME ZONE 'UTC', 'YYYY_MM');
BEGIN
	IF to_regclass(part) IS NULL THEN
		-- Serialize creators: two sessions creating the same partition would otherwise collide.
		PERFORM pg_advisory_xact_lock(hashtext('omni_audit_partitions'));
		IF to_regclass(part) IS NULL THEN
			EXECUTE format(
				'CREATE TABLE %I PARTITION OF "audit_logs" FOR VALUES FROM (%L) TO (%L)',
				part, month_start, month_end
			);
		END IF;
	END IF;
	RETURN part;
END
$$;
--> statement-breakpoint
SELECT omni_ensure_audit_partition(now());
--> statement-breakpoint
SELECT omni_ensure_audit_partition(now() + interval '1 month');
