import { type DeploymentTokenSpec, loadDeploymentToken } from "@omni/kit";

/**
 * The deployment's operator token (`OMNI_OPERATOR_TOKEN`): the credential of the operator API
 * (`/api/operator/...`, deployment-wide changes such as domain-server instances), sent as
 * `Authorization: Bearer <token>`. Organization credentials never open it. Unset in production: the
 * operator API is off. Unset in development: generated once into `<data dir>/operator.token`, which the
 * gateway and `omni` on the same machine read (like `OMNI_INTERNAL_TOKEN`'s `internal.token`).
 * Shared by the gateway and the CLI (`@omni/gateway/operator-token`).
 */
const OPERATOR_TOKEN: DeploymentTokenSpec = {
  variable: "OMNI_OPERATOR_TOKEN",
  file: "operator.token",
  requiredInProduction: null,
};

/**
 * The operator token: `OMNI_OPERATOR_TOKEN`; null in production without it (the operator API is off);
 * else the development token (made on first use, unless `create: false`).
 */
export function loadOperatorToken(
  env: Record<string, string | undefined>,
  options: { dataDir?: string; create?: boolean } = {},
): string | null {
  return loadDeploymentToken(OPERATOR_TOKEN, env, options);
}
