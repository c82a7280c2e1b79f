import { createDb, createRepositories, type Database, migrate, type SecretEnvelopes } from "@omni/db";
import { databaseOptions, readEnv } from "../../env.ts";
import { loadSecretKeys, SecretBox } from "../secrets.ts";

/**
 * `bun run secrets:rotate`: re-encrypts every stored secret (organizations' service secrets and
 * members' own credentials) under the current `OMNI_SECRET_KEY`, in one transaction. Keys that
 * sealed existing envelopes must be listed in `OMNI_SECRET_KEY_PREVIOUS` (or after the first key in
 * `OMNI_SECRET_KEY`). Nothing is written unless every secret decrypts.
 */

const HELP = `Usage: bun run secrets:rotate [--dry-run]

Re-encrypts every stored secret (organization service secrets and members' own
credentials) under the current key, in one transaction: all or nothing.

Environment:
  DATABASE_URL              Postgres URL (PGlite in .data/ when unset)
  OMNI_SECRET_KEY           the new key (32 bytes, base64 or hex) first; more keys may follow, comma-separated
  OMNI_SECRET_KEY_PREVIOUS  old keys still accepted for reading, comma-separated

Steps: set OMNI_SECRET_KEY to the new key and OMNI_SECRET_KEY_PREVIOUS to the old one,
run this, restart the gateways, then drop the old key from OMNI_SECRET_KEY_PREVIOUS.

Options:
  --dry-run   decrypt and count, write nothing
  --help      this text
`;

export interface RotationReport {
  organizations: number;
  /** Rows (services and credentials) rewritten. */
  rows: number;
  /** Envelopes re-encrypted. */
  secrets: number;
  /** Envelopes already under the current key. */
  current: number;
}

function reseal(
  box: SecretBox,
  envelopes: SecretEnvelopes,
  scope: { orgId: string; server: string; userId?: string },
): { secrets: SecretEnvelopes; changed: number } {
  let changed = 0;
  const secrets: SecretEnvelopes = {};
  for (const [name, envelope] of Object.entries(envelopes)) {
    if (box.isCurrent(envelope)) {
      // Still checked: a tampered or misplaced envelope fails the rotation rather than surviving it.
      box.decrypt(envelope, { ...scope, name });
      secrets[name] = envelope;
      continue;
    }
    secrets[name] = box.encrypt(box.decrypt(envelope, { ...scope, name }), { ...scope, name });
    changed++;
  }
  return { secrets, changed };
}

/** Re-encrypts every secret under `box.current`, org by org, in one transaction. */
export async function rotateSecrets(
  db: Database,
  box: SecretBox,
  options: { dryRun?: boolean; progress?: (line: string) => void } = {},
): Promise<RotationReport> {
  const progress = options.progress ?? (() => {});
  const report: RotationReport = { organizations: 0, rows: 0, secrets: 0, current: 0 };
  const run = async (repos: ReturnType<typeof createRepositories>, tx: Database) => {
    const orgs = await repos.organizations.list();
    for (const [index, org] of orgs.entries()) {
      let orgSecrets = 0;
      for (const service of await repos.services.list(org.id)) {
        const total = Object.keys(service.secrets).length;
        const { secrets, changed } = reseal(box, service.secrets, {
          orgId: org.id,
          server: service.serverName,
        });
        report.current += total - changed;
        if (changed === 0) continue;
        if (!options.dryRun) await repos.services.update(org.id, service.serverId, { secrets });
        report.rows++;
        orgSecrets += changed;
      }
      const credentials = await tx.query.userServiceCredentials.findMany({
        where: (c, { eq }) => eq(c.organizationId, org.id),
        with: { server: { columns: { name: true } } },
      });
      for (const credential of credentials) {
        const total = Object.keys(credential.secrets).length;
        const { secrets, changed } = reseal(box, credential.secrets, {
          orgId: org.id,
          server: credential.server.name,
          userId: credential.userId,
        });
        report.current += total - changed;
        if (changed === 0) continue;
        if (!options.dryRun) {
          await repos.credentials.upsert(org.id, credential.userId, credential.serverId, secrets);
        }
        report.rows++;
        orgSecrets += changed;
      }
      report.organizations++;
      report.secrets += orgSecrets;
      progress(`[${index + 1}/${orgs.length}] ${org.slug}: ${orgSecrets} secret(s) re-encrypted`);
    }
  };
  if (options.dryRun) {
    await run(createRepositories(db), db);
  } else {
    await db.transaction(async (tx) => run(createRepositories(tx), tx));
  }
  return report;
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(HELP);
    return 0;
  }
  const unknown = argv.filter((a) => a !== "--dry-run");
  if (unknown.length > 0) {
    process.stderr.write(`unknown option ${unknown[0]}\n\n${HELP}`);
    return 2;
  }
  const dryRun = argv.includes("--dry-run");
  const env = readEnv(process.env);
  const box = new SecretBox(loadSecretKeys(env.keys));
  const handle = await createDb(databaseOptions(env));
  try {
    await migrate(handle.db);
    process.stdout.write(`Re-encrypting secrets under key ${box.current.kid}${dryRun ? " (dry run)" : ""}\n`);
    const report = await rotateSecrets(handle.db, box, {
      dryRun,
      progress: (line) => process.stdout.write(`${line}\n`),
    });
    process.stdout.write(
      `${dryRun ? "Would re-encrypt" : "Re-encrypted"} ${report.secrets} secret(s) in ${report.rows} row(s) across ` +
        `${report.organizations} organization(s); ${report.current} already under the current key.\n`,
    );
    return 0;
  } catch (error) {
    process.stderr.write(`secrets:rotate failed, nothing was changed: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await handle.close();
  }
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
