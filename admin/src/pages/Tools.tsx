import type { CallToolResult, ContentBlock, ToolDescriptor } from "@omni/contracts";
import { createSignal, For, Show } from "solid-js";
import { ContentView } from "../components/ContentView.tsx";
import { DataTable } from "../components/DataTable.tsx";
import { Field, Notice } from "../components/form.tsx";
import { initialValue, type JsonSchema, prune, SchemaField } from "../components/SchemaForm.tsx";
import { Badge, PageHeader } from "../components/ui.tsx";
import { errorMessage } from "../lib/api.ts";
import { load } from "../lib/data.ts";
import { ms, pretty } from "../lib/format.ts";
import { mcpClient, resetMcpClient } from "../lib/mcp.ts";

async function listTools(): Promise<ToolDescriptor[]> {
  const client = await mcpClient();
  const tools: ToolDescriptor[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listTools(cursor ? { cursor } : {});
    tools.push(...(page.tools as ToolDescriptor[]));
    cursor = page.nextCursor;
  } while (cursor);
  return tools;
}

/** A tool's annotations as badges. */
function Hints(props: { tool: ToolDescriptor }) {
  const hints = () => props.tool.annotations;
  return (
    <>
      <Show when={hints()?.readOnlyHint}>
        <Badge tone="ok">read-only</Badge>{" "}
      </Show>
      <Show when={hints()?.destructiveHint}>
        <Badge tone="bad">destructive</Badge>{" "}
      </Show>
      <Show when={hints()?.idempotentHint}>
        <Badge tone="info">idempotent</Badge>{" "}
      </Show>
      <Show when={hints()?.openWorldHint}>
        <Badge tone="warn">open world</Badge>
      </Show>
    </>
  );
}

export default function Tools() {
  const tools = load(async () => {
    try {
      return await listTools();
    } catch (error) {
      await resetMcpClient();
      throw error;
    }
  });
  const [search, setSearch] = createSignal("");
  const [selected, setSelected] = createSignal<ToolDescriptor | null>(null);
  const [args, setArgs] = createSignal<unknown>({});
  const [result, setResult] = createSignal<{ value: CallToolResult; ms: number } | null>(null);
  const [callError, setCallError] = createSignal<string | null>(null);
  const [running, setRunning] = createSignal(false);

  const choose = (tool: ToolDescriptor) => {
    setSelected(tool);
    setArgs(initialValue(tool.inputSchema as JsonSchema) ?? {});
    setResult(null);
    setCallError(null);
  };

  const run = async (event: SubmitEvent) => {
    event.preventDefault();
    const tool = selected();
    if (!tool) return;
    setRunning(true);
    setCallError(null);
    const started = performance.now();
    try {
      const client = await mcpClient();
      const value = (await client.callTool({
        name: tool.name,
        arguments: (prune(args()) ?? {}) as Record<string, unknown>,
      })) as CallToolResult;
      setResult({ value, ms: performance.now() - started });
    } catch (error) {
      setResult(null);
      setCallError(errorMessage(error));
      await resetMcpClient();
    }
    setRunning(false);
  };

  return (
    <>
      <PageHeader
        title="Tools"
        subtitle="Every tool your organization can call (tools/list through this gateway's /mcp, as you), and a playground."
        actions={
          <button type="button" onClick={() => tools.reload()}>
            Refresh
          </button>
        }
      />
      <Field
        id="t-search"
        label="Search tools"
        type="search"
        value={search()}
        placeholder="name or description"
        onInput={setSearch}
      />
      <div class="two" style={{ "margin-top": "1rem" }}>
        <DataTable
          caption="Tools"
          what="tools"
          of={tools}
          empty="Enable a server on the Servers page: its tools appear here."
          filter={(t) =>
            `${t.name} ${t.title ?? ""} ${t.description}`.toLowerCase().includes(search().toLowerCase())
          }
          noMatch="No tool matches."
          key={(tool) => tool.name}
          selected={(tool) => selected()?.name === tool.name}
          columns={[
            {
              header: "Tool",
              cell: (tool) => (
                <>
                  <button type="button" class="link" onClick={() => choose(tool)}>
                    {tool.name}
                  </button>
                  <div class="muted">{tool.description.slice(0, 160)}</div>
                </>
              ),
            },
            { header: "Hints", cell: (tool) => <Hints tool={tool} /> },
          ]}
        />
        <section class="panel" aria-labelledby="playground">
          <h2 id="playground">Playground</h2>
          <Show when={selected()} fallback={<p class="muted">Choose a tool to call it.</p>}>
            {(tool) => (
              <form onSubmit={(e) => void run(e)}>
                <p>
                  <strong>{tool().name}</strong>
                </p>
                <SchemaField
                  schema={tool().inputSchema as JsonSchema}
                  name="arguments"
                  id="arg"
                  value={args()}
                  onChange={setArgs}
                />
                <details>
                  <summary>Arguments as JSON</summary>
                  <pre tabindex="0">{pretty(prune(args()))}</pre>
                </details>
                <div class="form-actions">
                  <button type="submit" class="primary" disabled={running()}>
                    {running() ? "Calling…" : "Call tool"}
                  </button>
                </div>
              </form>
            )}
          </Show>
          <Notice text={callError()} tone="bad" />
          <Show when={result()}>
            {(r) => (
              <div data-testid="tool-result" aria-live="polite">
                <p>
                  <Badge tone={r().value.isError ? "bad" : "ok"}>
                    {r().value.isError ? "isError" : "ok"}
                  </Badge>{" "}
                  <span data-testid="timing">{ms(r().ms)}</span>
                </p>
                <For each={r().value.content as ContentBlock[]}>
                  {(block) => <ContentView block={block} />}
                </For>
                <Show when={r().value.structuredContent}>
                  <h3>Structured content</h3>
                  <pre tabindex="0">{pretty(r().value.structuredContent)}</pre>
                </Show>
              </div>
            )}
          </Show>
        </section>
      </div>
    </>
  );
}
