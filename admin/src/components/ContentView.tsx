import type { ContentBlock } from "@omni/contracts";
import { Match, Switch } from "solid-js";
import { pretty } from "../lib/format.ts";

/** One MCP content block as a person reads it: text, an image, audio, a resource or a link. */
export function ContentView(props: { block: ContentBlock }) {
  return (
    <Switch fallback={<pre tabindex="0">{pretty(props.block)}</pre>}>
      <Match when={props.block.type === "text" && props.block}>
        {(b) => (
          <pre tabindex="0" data-testid="content-text">
            {(b() as { text: string }).text}
          </pre>
        )}
      </Match>
      <Match when={props.block.type === "image" && props.block}>
        {(b) => {
          const img = b() as { data: string; mimeType: string };
          return (
            <img
              alt="Returned by the server"
              src={`data:${img.mimeType};base64,${img.data}`}
              style={{ "max-width": "100%" }}
            />
          );
        }}
      </Match>
      <Match when={props.block.type === "audio" && props.block}>
        {(b) => {
          const audio = b() as { data: string; mimeType: string };
          // biome-ignore lint/a11y/useMediaCaption: tool output has no captions to offer
          return <audio controls src={`data:${audio.mimeType};base64,${audio.data}`} />;
        }}
      </Match>
      <Match when={props.block.type === "resource" && props.block}>
        {(b) => {
          const r = (b() as { resource: { uri: string; text?: string; blob?: string } }).resource;
          return (
            <div>
              <code>{r.uri}</code>
              <pre tabindex="0">{r.text ?? `(binary, ${r.blob?.length ?? 0} base64 characters)`}</pre>
            </div>
          );
        }}
      </Match>
      <Match when={props.block.type === "resource_link" && props.block}>
        {(b) => <code>{(b() as { uri: string }).uri}</code>}
      </Match>
    </Switch>
  );
}
