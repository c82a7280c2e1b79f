import { For, Show } from "solid-js";
import { Async, Badge, PageHeader } from "../components/ui.tsx";
import { load } from "../lib/data.ts";
import { pretty } from "../lib/format.ts";

interface Operation {
  summary?: string;
  tags?: string[];
  parameters?: { name: string; in: string; required?: boolean; schema?: unknown }[];
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>;
}
interface Spec {
  info?: { title?: string; description?: string };
  paths?: Record<string, Record<string, Operation>>;
}

/** The admin API's OpenAPI document (`/api/openapi.json`), readable without leaving the dashboard. */
export default function ApiReference() {
  const spec = load(async () => {
    // The OpenAPI plugin's own route is not part of GatewayApp's typed routes: a plain same-origin GET.
    const response = await fetch("/api/openapi.json");
    if (!response.ok) throw new Error(`GET /api/openapi.json answered ${response.status}`);
    return (await response.json()) as Spec;
  });
  const operations = (s: Spec) =>
    Object.entries(s.paths ?? {}).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ path, method, op })),
    );

  return (
    <>
      <PageHeader
        title="API reference"
        subtitle="Every admin API route, its parameters, body and responses. The document itself: /api/openapi.json."
        actions={
          <a href="/api/openapi.json" download="omni-openapi.json">
            Download OpenAPI JSON
          </a>
        }
      />
      <Async value={spec.value()} error={spec.error()} retry={spec.reload} what="the OpenAPI document">
        {(s) => (
          <>
            <p>{s.info?.description}</p>
            <For each={operations(s)}>
              {(o) => (
                <details class="panel">
                  <summary>
                    <Badge tone="info">{o.method.toUpperCase()}</Badge> <code>{o.path}</code>{" "}
                    {o.op.summary ?? ""}
                  </summary>
                  <Show when={o.op.parameters?.length}>
                    <h3>Parameters</h3>
                    <ul>
                      <For each={o.op.parameters}>
                        {(p) => (
                          <li>
                            <code>{p.name}</code> in {p.in}
                            {p.required ? " (required)" : ""}
                          </li>
                        )}
                      </For>
                    </ul>
                  </Show>
                  <Show when={o.op.requestBody?.content}>
                    {(content) => (
                      <>
                        <h3>Body</h3>
                        <pre tabindex="0">{pretty(Object.values(content())[0]?.schema)}</pre>
                      </>
                    )}
                  </Show>
                  <h3>Responses</h3>
                  <For each={Object.entries(o.op.responses ?? {})}>
                    {([code, r]) => (
                      <details>
                        <summary>{code}</summary>
                        <pre tabindex="0">
                          {pretty(Object.values(r.content ?? {})[0]?.schema ?? r.description)}
                        </pre>
                      </details>
                    )}
                  </For>
                </details>
              )}
            </For>
          </>
        )}
      </Async>
    </>
  );
}
