CREATE TABLE "federated_servers" (
	"id" text PRIMARY KEY NOT NULL,
	"organization_id" text,
	"name" text NOT NULL,
	"prefix" text NOT NULL,
	"transport" text NOT NULL,
	"url" text,
	"command" text,
	"args" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"env" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"auth_header" text,
	"auth_secret" jsonb,
	"registered_by" text DEFAULT 'org' NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "federated_servers" ADD CONSTRAINT "federated_servers_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "federated_servers_organization_id_idx" ON "federated_servers" USING btree ("organization_id");--> statement-breakpoint
CREATE UNIQUE INDEX "federated_servers_org_prefix_unique" ON "federated_servers" USING btree (coalesce("organization_id", '*'),"prefix");