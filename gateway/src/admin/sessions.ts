import { ApiError, McpSessionList, OkResponse } from "@omni/contracts";
import { Elysia } from "elysia";
import * as v from "valibot";
import { auditActor } from "../audit/index.ts";
import type { Session } from "../mcp/session.ts";
import { apiError } from "../security/errors.ts";
import type { DashboardDeps } from "./deps.ts";

function credentialOf(session: Session) {
  const { via, userId } = session.caller.org;
  if (via === "api_key") return { type: "api_key" as const, id: session.caller.credentialId ?? null };
  if (via === "clerk" || via === "oauth") return { type: "user" as const, id: userId };
  return { type: via, id: userId };
}

const text = (value: unknown) => (typeof value === "string" ? value : null);

const SessionParams = v.object({ id: v.pipe(v.string(), v.minLength(1), v.maxLength(200)) });

/**
 * Live 2025-era MCP sessions (Streamable HTTP and WebSocket) of the caller's organization on this replica:
 *
 *   GET    /api/sessions       list them (client, version, credential, age, last call)
 *   DELETE /api/sessions/:id   end one: its calls are aborted, its stream closes, its id stops working
 */
export function sessionsRoutes(deps: DashboardDeps) {
  const ofOrg = (orgId: string) => [...deps.sessions.all()].filter((s) => s.caller.org.orgId === orgId);
  return new Elysia({ name: "omni-admin-sessions", prefix: "/api" })
    .use(deps.auth.guard)
    .get(
      "/sessions",
      ({ auth }) => ({
        sessions: ofOrg(auth.org.orgId)
          .sort((a, b) => b.lastSeen - a.lastSeen)
          .map((s) => ({
            id: s.id,
            clientName: text(s.clientInfo.name),
            clientVersion: text(s.clientInfo.version),
            protocolVersion: s.protocolVersion,
            era: "2025" as const,
            credential: credentialOf(s),
            createdAt: new Date(s.createdAt).toISOString(),
            lastSeenAt: new Date(s.lastSeen).toISOString(),
            inflight: s.inflight.size,
            streaming: s.stream !== null,
          })),
      }),
      {
        permission: "admin:read",
        response: { 200: McpSessionList },
        detail: { tags: ["sessions"], summary: "Live MCP sessions of this organization (this replica)" },
      },
    )
    .delete(
      "/sessions/:id",
      async ({ auth, params, status }) => {
        const session = ofOrg(auth.org.orgId).find((s) => s.id === params.id);
        if (!session) {
          return status(404, apiError("not_found", "No live MCP session with this id in this organization."));
        }
        deps.sessions.end(session);
        await deps.auth.audit.record({
          orgId: auth.org.orgId,
          actor: auditActor(auth.org, auth.credentialId),
          action: "mcp_session.end",
          target: { type: "mcp_session", id: session.id },
          metadata: { client: text(session.clientInfo.name), requestId: auth.org.requestId },
        });
        return { ok: true as const };
      },
      {
        permission: "admin:write",
        params: SessionParams,
        response: { 200: OkResponse, 404: ApiError },
        detail: { tags: ["sessions"], summary: "End an MCP session (the client's next request gets 404)" },
      },
    );
}
