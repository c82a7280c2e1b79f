/**
 * Every environment variable the CLI reads, for `--help` (the whole list with defaults is in .env.example).
 */
export const ENV_HELP = `Environment:
  OMNI_URL            gateway base URL for API and MCP commands (default http://127.0.0.1:37373)
  OMNI_API_KEY        API key (omni_sk_...) sent as Authorization: Bearer (unset: none, e.g. dev mode)
  OMNI_OPERATOR_TOKEN the gateway's operator token, for "servers instances" (unset, gateway on loopback:
                      <data dir>/operator.token of a development gateway)
  DATABASE_URL        Postgres URL for operator commands (orgs, db, doctor); unset: PGlite
  OMNI_DATA_DIR       data directory: PGlite in <dir>/pglite, dev secret key (default <repo>/.data)
  REDIS_URL           checked by doctor when set
  CHROME_PATH         Chromium checked by doctor (default /usr/bin/chromium); CHROME_URL to attach instead
  PORT, LINEAR_PORT, PERPLEXITY_PORT, DEVTOOLS_PORT, <NAME>_PORT
                      ports doctor checks: the gateway's (default 37373) and each servers/<name>
                      folder's (omni.port in its package.json: 3001, 3002, 3003, ...)
  NODE_ENV            production: doctor requires OMNI_SECRET_KEY and refuses OMNI_DEV_MODE
  NO_COLOR            no colours even on a terminal (colours are only used on a terminal anyway)

Exit codes: 0 ok, 1 the command failed (the message says what to do next), 2 bad usage.`;

export const DEFAULT_URL = "http://127.0.0.1:37373";
