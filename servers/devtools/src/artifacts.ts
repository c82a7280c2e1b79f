import { randomBytes } from "node:crypto";
import type { ReadResourceResult } from "@omni/contracts";
import { ResourceNotFoundError, type ResourceTemplateDefinition } from "@omni/kit";
import type { Session, SessionManager } from "./sessions.ts";

/** A file a tool produced for the client to read later (a Lighthouse report, a trace, a video). */
export interface Artifact {
  id: string;
  name: string;
  mimeType: string;
  /** Text content, or base64 for binary content. */
  text?: string;
  blob?: string;
  bytes: number;
  createdAt: string;
}

const MAX_ARTIFACTS = 12;
const MAX_TOTAL_BYTES = 200 * 1024 * 1024;

const stores = new WeakMap<Session, { seq: number; items: Map<string, Artifact> }>();
/** Artifact id → the browser context that made it (reads check the caller owns that context). */
const index = new Map<string, WeakRef<Session>>();

function storeOf(session: Session) {
  let store = stores.get(session);
  if (!store) {
    store = { seq: 0, items: new Map() };
    stores.set(session, store);
  }
  return store;
}

/** The resource URI of an artifact. */
export function artifactUri(id: string): string {
  return `devtools://artifacts/${id}`;
}

/**
 * Keep an artifact in the session (dropped with its browser context); the oldest are dropped beyond
 * 12 artifacts or 200 MiB. `prefix` names its kind (lighthouse, trace, screencast).
 */
export function saveArtifact(
  session: Session,
  prefix: string,
  name: string,
  mimeType: string,
  content: { text: string } | { blob: Uint8Array },
): Artifact {
  const store = storeOf(session);
  const id = `${prefix}-${++store.seq}-${randomBytes(6).toString("base64url")}`;
  const artifact: Artifact =
    "text" in content
      ? { id, name, mimeType, text: content.text, bytes: Buffer.byteLength(content.text), createdAt: "" }
      : {
          id,
          name,
          mimeType,
          blob: Buffer.from(content.blob).toString("base64"),
          bytes: content.blob.byteLength,
          createdAt: "",
        };
  artifact.createdAt = new Date().toISOString();
  store.items.set(id, artifact);
  let total = 0;
  for (const a of store.items.values()) total += a.bytes;
  for (const [key, a] of store.items) {
    if (store.items.size <= MAX_ARTIFACTS && total <= MAX_TOTAL_BYTES) break;
    if (key === id) break;
    store.items.delete(key);
    total -= a.bytes;
  }
  index.set(id, new WeakRef(session));
  for (const [key, ref] of index) {
    const owner = ref.deref();
    if (!owner || !stores.get(owner)?.items.has(key)) index.delete(key);
  }
  return artifact;
}

/** A resource link to an artifact, for a tool result. */
export function artifactLink(artifact: Artifact) {
  return {
    type: "resource_link" as const,
    uri: artifactUri(artifact.id),
    name: artifact.name,
    mimeType: artifact.mimeType,
    description: `${artifact.name} (${artifact.bytes} bytes); read it with resources/read`,
  };
}

/** `devtools://artifacts/{id}`: this session's reports, traces and recordings. */
export function artifactResources(sessions: SessionManager): ResourceTemplateDefinition[] {
  return [
    {
      uriTemplate: "devtools://artifacts/{id}",
      name: "artifact",
      title: "DevTools artifact",
      description:
        "A file a DevTools tool made in this session: a Lighthouse report (JSON or HTML), a raw performance trace (JSON), a screencast video or frame. The tool's result names its URI.",
      read(uri, vars, ctx): ReadResourceResult {
        const id = vars.id ?? "";
        // The context that made it, if the caller owns it (its MCP session's, or a browser handle's).
        const maker = index.get(id)?.deref();
        const session = maker && sessions.peek({ ...ctx, browser: maker.id }) === maker ? maker : undefined;
        const artifact = session ? stores.get(session)?.items.get(id) : undefined;
        if (!artifact) throw new ResourceNotFoundError(`No artifact ${id} in this session`);
        return {
          contents: [
            artifact.text !== undefined
              ? { uri, mimeType: artifact.mimeType, text: artifact.text }
              : { uri, mimeType: artifact.mimeType, blob: artifact.blob ?? "" },
          ],
        };
      },
    },
  ];
}
