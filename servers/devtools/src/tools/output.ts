import { defineTool, type ToolDefinition, ToolError } from "@omni/kit";
import * as v from "valibot";
import { ElementArg, resolveElement } from "../elements.ts";
import type { SessionManager } from "../sessions.ts";
import { Effect } from "./util.ts";

const MAX_PIXELS = 16_384;

export function outputTools(sessions: SessionManager): ToolDefinition[] {
  return [
    defineTool({
      name: "chrome_screenshot",
      title: "Screenshot",
      description:
        "Capture the viewport, the full page, or one element as a PNG, JPEG or WebP image (returned as MCP image content; WebP and JPEG are several times smaller than PNG).",
      input: v.object({
        element: v.optional(ElementArg),
        fullPage: v.optional(v.pipe(v.boolean(), v.description("Capture the whole scrollable page")), false),
        format: v.optional(
          v.pipe(v.picklist(["png", "jpeg", "webp"]), v.description("Image format (default png)")),
          "png",
        ),
        quality: v.optional(
          v.pipe(
            v.number(),
            v.integer(),
            v.minValue(1),
            v.maxValue(100),
            v.description("JPEG or WebP quality 1-100 (default 80)"),
          ),
        ),
      }),
      annotations: Effect.read,
      async handler(args, ctx) {
        const tab = await sessions.tab(ctx);
        let clip: { x: number; y: number; width: number; height: number; scale: number } | undefined;
        let what = "viewport";
        if (args.element) {
          const objectId = await resolveElement(tab, args.element);
          const box = (await tab.callOn(
            objectId,
            `function () {
              this.scrollIntoView({ block: "center", inline: "center" });
              const r = this.getBoundingClientRect();
              return { x: r.x + window.scrollX, y: r.y + window.scrollY, width: r.width, height: r.height };
            }`,
          )) as { x: number; y: number; width: number; height: number };
          if (box.width < 1 || box.height < 1)
            throw new ToolError(`Element ${args.element} has no visible box`);
          clip = { ...box, scale: 1 };
          what = `element ${args.element}`;
        } else if (args.fullPage) {
          const metrics = await tab.send("Page.getLayoutMetrics");
          const { width, height } = metrics.cssContentSize;
          clip = {
            x: 0,
            y: 0,
            width: Math.min(width, MAX_PIXELS),
            height: Math.min(height, MAX_PIXELS),
            scale: 1,
          };
          what = "full page";
        }
        const shot = await tab.guard(
          tab.send("Page.captureScreenshot", {
            format: args.format,
            ...(args.format !== "png" ? { quality: args.quality ?? 80 } : {}),
            optimizeForSpeed: true,
            ...(clip ? { clip, captureBeyondViewport: true } : {}),
          }),
        );
        const mimeType = `image/${args.format}`;
        return {
          content: [
            { type: "image", data: shot.data, mimeType },
            { type: "text", text: `Screenshot of the ${what} of ${tab.url} (${mimeType})` },
          ],
        };
      },
    }),
    defineTool({
      name: "chrome_print_pdf",
      title: "Print to PDF",
      description:
        "Print the current page to PDF (returned as an embedded application/pdf resource, base64).",
      input: v.object({
        landscape: v.optional(v.pipe(v.boolean(), v.description("Landscape orientation")), false),
        printBackground: v.optional(v.pipe(v.boolean(), v.description("Print background graphics")), true),
        scale: v.optional(
          v.pipe(v.number(), v.minValue(0.1), v.maxValue(2), v.description("Scale 0.1-2 (default 1)")),
          1,
        ),
        pageRanges: v.optional(v.pipe(v.string(), v.description("Pages to print, e.g. 1-3, 5"))),
      }),
      annotations: Effect.read,
      async handler(args, ctx) {
        const tab = await sessions.tab(ctx);
        const pdf = await tab.guard(
          tab.send("Page.printToPDF", {
            landscape: args.landscape,
            printBackground: args.printBackground,
            scale: args.scale,
            ...(args.pageRanges ? { pageRanges: args.pageRanges } : {}),
          }),
        );
        const bytes = Math.floor((pdf.data.length * 3) / 4);
        return {
          content: [
            { type: "text", text: `PDF of ${tab.url} (${bytes} bytes)` },
            {
              type: "resource",
              resource: {
                uri: `devtools://pdf/${tab.targetId}`,
                mimeType: "application/pdf",
                blob: pdf.data,
              },
            },
          ],
        };
      },
    }),
  ];
}
