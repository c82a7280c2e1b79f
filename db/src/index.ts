export { type CatalogueChange, registerCatalogue } from "./catalogue.ts";
export {
  type CreateDbOptions,
  createDb,
  type Database,
  type DbHandle,
  type Driver,
  type MigrationStatus,
  migrate,
  migrationStatus,
  PgliteInUseError,
} from "./client.ts";
export { ConflictError } from "./errors.ts";
export type { ApiKey, NewApiKey } from "./repos/api-keys.ts";
export type { AuditRow, AuditRowBuilder, ListAuditOptions, NewAuditRow } from "./repos/audit.ts";
export type {
  FederatedServer,
  NewOperatorUpstream,
  NewRemoteUpstream,
} from "./repos/federation.ts";
export { createRepositories, type Repositories } from "./repos/index.ts";
export type { Membership } from "./repos/memberships.ts";
export type { NewOrganization, NewUser, Organization, User } from "./repos/organizations.ts";
export type { BundleRow, ToolPolicyRow } from "./repos/policy.ts";
export type {
  DefaultPrompt,
  NewDefaultPrompt,
  NewOrganizationPrompt,
  OrganizationPrompt,
  OrganizationPromptPatch,
} from "./repos/prompts.ts";
export type {
  DefaultResource,
  NewDefaultResource,
  NewOrganizationResource,
  OrganizationResource,
  OrganizationResourcePatch,
} from "./repos/resources.ts";
export type { McpServer, NamedInstance, NewMcpServer, ServerInstance } from "./repos/servers.ts";
export type { OrganizationService, ServicePatch, UserServiceCredential } from "./repos/services.ts";
export type { WebhookEvent } from "./repos/webhooks.ts";
export { DEPLOYMENT_AUDIT_CHAIN } from "./schema/audit.ts";
export { newId } from "./schema/columns.ts";
export type {
  ActorType,
  FederatedTransport,
  InstanceStatus,
  OrganizationSettings,
  SecretEnvelope,
  SecretEnvelopes,
  WebhookOutcome,
} from "./schema/index.ts";
export * as schema from "./schema/index.ts";
export { DEMO_ORG_ID, DEMO_USER_ID, seed } from "./seed.ts";
export { createTestDatabase, type TestDatabaseOptions } from "./testing.ts";
export { InvalidRowError } from "./validation.ts";
