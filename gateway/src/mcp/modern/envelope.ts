import { ClientCapabilities, ErrorCode, type JsonRpcErrorObject, LogLevel } from "@omni/contracts";
import * as v from "valibot";
import { isRecord, type Json } from "../protocol.ts";
import { ALL_VERSIONS, isModernVersion, META, MODERN_VERSIONS, type ModernVersion } from "./era.ts";

/** JSON-RPC error codes of the 2026-07-28 revision. */
export const ModernErrorCode = {
  /** A standard header (`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`) is missing or disagrees with the body. */
  HeaderMismatch: -32020,
  MissingRequiredClientCapability: -32021,
  UnsupportedProtocolVersion: -32022,
} as const;

/** What a modern request says about its client, validated. */
export interface ModernEnvelope {
  protocolVersion: ModernVersion;
  clientCapabilities: ClientCapabilities;
  clientInfo: Json | undefined;
  logLevel: LogLevel | undefined;
  progressToken: string | number | undefined;
}

/** An edge rejection: the HTTP status and the JSON-RPC error to answer with. */
export interface EdgeRejection {
  status: 400 | 404;
  error: JsonRpcErrorObject;
}

export type EnvelopeOutcome =
  | { ok: true; envelope: ModernEnvelope }
  | { ok: false; rejection: EdgeRejection };

/** Methods whose body value the `Mcp-Name` header must mirror, and the body field it comes from. */
const NAME_SOURCE: Record<string, "name" | "uri" | "taskId"> = {
  "tools/call": "name",
  "prompts/get": "name",
  "resources/read": "uri",
  // SEP-2663: the tasks extension's methods carry the task id in Mcp-Name.
  "tasks/get": "taskId",
  "tasks/update": "taskId",
  "tasks/cancel": "taskId",
};

const Implementation = v.looseObject({ name: v.string(), version: v.string() });

function reject(status: 400 | 404, code: number, message: string, data?: unknown): EnvelopeOutcome {
  return {
    ok: false,
    rejection: { status, error: data === undefined ? { code, message } : { code, message, data } },
  };
}

/**
 * Validates a modern request's `_meta` envelope and standard headers, in the revision's precedence:
 * protocol-version header vs body claim (-32020), envelope presence and shape (-32602), supported
 * version (-32022 with `data.supported`/`data.requested`), then `Mcp-Method`/`Mcp-Name` (-32020).
 * Every rejection is HTTP 400. Pure.
 */
export function validateEnvelope(
  headers: Headers,
  method: string,
  params: Json,
  isRequest: boolean,
): EnvelopeOutcome {
  const header = headers.get("mcp-protocol-version")?.trim();
  const meta = params._meta;
  const claim = isRecord(meta) ? meta[META.protocolVersion] : undefined;

  if (claim !== undefined && header !== undefined && header !== claim) {
    return reject(
      400,
      ModernErrorCode.HeaderMismatch,
      `Header mismatch: MCP-Protocol-Version header "${header}" does not match params._meta["${META.protocolVersion}"] "${String(claim)}"`,
    );
  }
  if (!isRecord(meta)) {
    return reject(
      400,
      ErrorCode.InvalidParams,
      `Invalid params: params._meta is required on protocol revision ${MODERN_VERSIONS[0]} (missing keys: ${META.protocolVersion}, ${META.clientCapabilities})`,
    );
  }
  const missing = [META.protocolVersion, META.clientCapabilities].filter((key) => meta[key] === undefined);
  if (missing.length > 0) {
    return reject(400, ErrorCode.InvalidParams, `Invalid params: missing _meta keys: ${missing.join(", ")}`, {
      missing: missing.map((key) => `params._meta.${key}`),
    });
  }
  if (typeof claim !== "string") {
    return reject(
      400,
      ErrorCode.InvalidParams,
      `Invalid params: params._meta["${META.protocolVersion}"] must be a string`,
    );
  }
  if (!isModernVersion(claim)) {
    return reject(
      400,
      ModernErrorCode.UnsupportedProtocolVersion,
      `Unsupported protocol version: ${claim} (this gateway serves ${MODERN_VERSIONS.join(", ")} statelessly and 2025 revisions over sessions)`,
      { supported: [...ALL_VERSIONS], requested: claim },
    );
  }
  if (header === undefined && isRequest) {
    return reject(
      400,
      ModernErrorCode.HeaderMismatch,
      "Header mismatch: the MCP-Protocol-Version header is required",
    );
  }
  const caps = v.safeParse(ClientCapabilities, meta[META.clientCapabilities]);
  if (!caps.success) {
    return reject(
      400,
      ErrorCode.InvalidParams,
      `Invalid params: params._meta["${META.clientCapabilities}"] must be an object of capability objects`,
    );
  }
  const info = meta[META.clientInfo];
  if (info !== undefined && !v.is(Implementation, info)) {
    return reject(
      400,
      ErrorCode.InvalidParams,
      `Invalid params: params._meta["${META.clientInfo}"] must be an object with a name and a version`,
    );
  }
  const level = meta[META.logLevel];
  if (level !== undefined && !v.is(LogLevel, level)) {
    return reject(
      400,
      ErrorCode.InvalidParams,
      `Invalid params: params._meta["${META.logLevel}"] must be one of ${LogLevel.options.join(", ")}`,
    );
  }
  const token = meta.progressToken;
  if (token !== undefined && typeof token !== "string" && typeof token !== "number") {
    return reject(
      400,
      ErrorCode.InvalidParams,
      "Invalid params: params._meta.progressToken must be a string or a number",
    );
  }

  if (isRequest) {
    const headerRejection = checkStandardHeaders(headers, method, params);
    if (headerRejection) return { ok: false, rejection: headerRejection };
  }
  return {
    ok: true,
    envelope: {
      protocolVersion: claim,
      clientCapabilities: caps.output,
      clientInfo: isRecord(info) ? info : undefined,
      logLevel: level === undefined ? undefined : (level as LogLevel),
      progressToken: token as string | number | undefined,
    },
  };
}

/** SEP-2243: `Mcp-Method` must equal the body method; `Mcp-Name` must mirror `params.name`/`params.uri`. */
function checkStandardHeaders(headers: Headers, method: string, params: Json): EdgeRejection | undefined {
  const mismatch = (message: string): EdgeRejection => ({
    status: 400,
    error: { code: ModernErrorCode.HeaderMismatch, message: `Header mismatch: ${message}` },
  });
  const methodHeader = headers.get("mcp-method")?.trim();
  if (methodHeader === undefined) return mismatch(`the Mcp-Method header is required (expected "${method}")`);
  if (methodHeader !== method) {
    return mismatch(`Mcp-Method header "${methodHeader}" does not match the body method "${method}"`);
  }
  const field = Object.hasOwn(NAME_SOURCE, method) ? NAME_SOURCE[method] : undefined;
  if (field === undefined) return undefined;
  const bodyValue = params[field];
  if (typeof bodyValue !== "string") return undefined;
  const rawName = headers.get("mcp-name")?.trim();
  const nameHeader = rawName === undefined ? undefined : decodeHeaderValue(rawName);
  if (nameHeader === undefined) {
    return mismatch(
      `the Mcp-Name header is required for ${method} (expected params.${field} "${bodyValue}")`,
    );
  }
  if (nameHeader !== bodyValue) {
    return mismatch(`Mcp-Name header "${nameHeader}" does not match params.${field} "${bodyValue}"`);
  }
  return undefined;
}

/** SEP-2243 sentinel: `=?base64?<value>?=` carries a value that is not plain ASCII; anything else is literal. */
function decodeHeaderValue(raw: string): string {
  const match = /^=\?base64\?([A-Za-z0-9+/]*={0,2})\?=$/.exec(raw);
  if (!match?.[1] || match[1].length % 4 !== 0) return raw;
  return Buffer.from(match[1], "base64").toString("utf8");
}
