import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineTool, type ToolDefinition, ToolError } from "@omni/kit";
import type Protocol from "devtools-protocol";
import * as v from "valibot";
import { artifactLink, saveArtifact } from "../artifacts.ts";
import type { Session, SessionManager } from "../sessions.ts";
import type { Tab } from "../tab.ts";
import { Effect, result } from "./util.ts";

const MAX_FRAMES = 900;
const MAX_BYTES = 150 * 1024 * 1024;

interface Frame {
  data: string;
  /** Seconds, from the frame's metadata (when Chromium drew it). */
  at: number;
}

interface Recording {
  tab: Tab;
  format: "jpeg" | "png";
  frames: Frame[];
  bytes: number;
  dropped: number;
  startedAt: number;
  stop: () => void;
}

const recordings = new WeakMap<Session, Recording>();

/** Encode frames to an H.264 MP4 with Debian's ffmpeg, each frame shown until the next one came. */
async function encodeVideo(recording: Recording, ffmpeg: string, signal: AbortSignal): Promise<Uint8Array> {
  const dir = mkdtempSync(join(tmpdir(), "omni-screencast-"));
  try {
    const ext = recording.format === "png" ? "png" : "jpg";
    const lines: string[] = [];
    for (const [i, frame] of recording.frames.entries()) {
      const name = `f${String(i).padStart(5, "0")}.${ext}`;
      writeFileSync(join(dir, name), Buffer.from(frame.data, "base64"));
      const next = recording.frames[i + 1];
      const duration = next ? Math.max(0.001, next.at - frame.at) : 0.5;
      lines.push(`file '${name}'`, `duration ${duration.toFixed(3)}`);
    }
    // The concat demuxer needs the last file again to honour the last duration.
    const last = lines.at(-2);
    if (last) lines.push(last);
    writeFileSync(join(dir, "frames.txt"), `${lines.join("\n")}\n`);
    const out = join(dir, "screencast.mp4");
    const proc = Bun.spawn(
      [
        ffmpeg,
        "-hide_banner",
        "-loglevel",
        "error",
        "-f",
        "concat",
        "-safe",
        "0",
        "-i",
        join(dir, "frames.txt"),
        "-vf",
        "scale=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-r",
        "25",
        "-movflags",
        "+faststart",
        out,
      ],
      { stdin: "ignore", stdout: "ignore", stderr: "pipe", cwd: dir },
    );
    const kill = () => proc.kill();
    signal.addEventListener("abort", kill, { once: true });
    const timer = setTimeout(kill, 120_000);
    try {
      const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
      if (code !== 0) {
        throw new ToolError(
          `ffmpeg could not encode the screencast (exit ${code}): ${stderr.trim().split("\n").at(-1) ?? ""}`,
        );
      }
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", kill);
    }
    return new Uint8Array(await Bun.file(out).arrayBuffer());
  } catch (err) {
    if (err instanceof ToolError) throw err;
    throw new ToolError(
      `Could not run ffmpeg at ${ffmpeg} (install ffmpeg or set FFMPEG_PATH): ${(err as Error).message}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function screencastTools(sessions: SessionManager): ToolDefinition[] {
  return [
    defineTool({
      name: "chrome_start_screencast",
      title: "Start screencast",
      description:
        "Start recording the current tab as it is drawn (Page.startScreencast): interact, navigate, then call chrome_stop_screencast for a video or frames. At most 900 frames are kept.",
      input: v.object({
        format: v.optional(
          v.pipe(v.picklist(["jpeg", "png"]), v.description("Frame format (default jpeg)")),
          "jpeg",
        ),
        quality: v.optional(
          v.pipe(
            v.number(),
            v.integer(),
            v.minValue(1),
            v.maxValue(100),
            v.description("JPEG quality (default 70)"),
          ),
          70,
        ),
        maxWidth: v.optional(
          v.pipe(
            v.number(),
            v.integer(),
            v.minValue(100),
            v.maxValue(3840),
            v.description("Scale frames down to this width"),
          ),
        ),
        maxHeight: v.optional(
          v.pipe(
            v.number(),
            v.integer(),
            v.minValue(100),
            v.maxValue(2160),
            v.description("Scale frames down to this height"),
          ),
        ),
        everyNthFrame: v.optional(
          v.pipe(
            v.number(),
            v.integer(),
            v.minValue(1),
            v.maxValue(60),
            v.description("Keep every n-th frame (default 1)"),
          ),
          1,
        ),
      }),
      annotations: Effect.act,
      async handler(args, ctx) {
        const session = await sessions.session(ctx);
        if (recordings.has(session)) {
          throw new ToolError("A screencast is already recording: stop it with chrome_stop_screencast");
        }
        const tab = await sessions.tab(ctx);
        const recording: Recording = {
          tab,
          format: args.format,
          frames: [],
          bytes: 0,
          dropped: 0,
          startedAt: Date.now(),
          stop: () => undefined,
        };
        recording.stop = tab.listen("Page.screencastFrame", (event) => {
          const frame = event.params as unknown as Protocol.Page.ScreencastFrameEvent;
          void tab.send("Page.screencastFrameAck", { sessionId: frame.sessionId }).catch(() => undefined);
          if (recording.frames.length >= MAX_FRAMES || recording.bytes + frame.data.length > MAX_BYTES) {
            recording.dropped++;
            return;
          }
          recording.bytes += frame.data.length;
          recording.frames.push({ data: frame.data, at: frame.metadata.timestamp ?? Date.now() / 1000 });
        });
        recordings.set(session, recording);
        try {
          await tab.send("Page.startScreencast", {
            format: args.format,
            ...(args.format === "jpeg" ? { quality: args.quality } : {}),
            ...(args.maxWidth ? { maxWidth: args.maxWidth } : {}),
            ...(args.maxHeight ? { maxHeight: args.maxHeight } : {}),
            everyNthFrame: args.everyNthFrame,
          });
        } catch (err) {
          recording.stop();
          recordings.delete(session);
          throw err;
        }
        return result(`Recording ${tab.url}; call chrome_stop_screencast when done`, {
          url: tab.url,
          format: args.format,
        });
      },
    }),
    defineTool({
      name: "chrome_stop_screencast",
      title: "Stop screencast",
      description:
        "Stop the screencast and save it as a resource (devtools://artifacts/…): an MP4 video (H.264, encoded with ffmpeg), or the frames (JSON with each frame's time and image). A few frames, evenly spaced, are also returned as images.",
      input: v.object({
        output: v.optional(
          v.pipe(
            v.picklist(["video", "frames"]),
            v.description("video (default): an MP4; frames: every frame as JSON"),
          ),
          "video",
        ),
        previewFrames: v.optional(
          v.pipe(
            v.number(),
            v.integer(),
            v.minValue(0),
            v.maxValue(10),
            v.description("Frames to return as images (default 3)"),
          ),
          3,
        ),
      }),
      annotations: Effect.act,
      async handler(args, ctx) {
        const session = await sessions.session(ctx);
        const recording = recordings.get(session);
        if (!recording)
          throw new ToolError("No screencast is recording: start one with chrome_start_screencast");
        recordings.delete(session);
        await recording.tab.send("Page.stopScreencast").catch(() => undefined);
        recording.stop();
        const { frames } = recording;
        if (frames.length === 0) {
          throw new ToolError(
            "The screencast recorded no frames (nothing was drawn: the page did not change, or the tab is hidden)",
          );
        }
        const first = frames[0];
        const last = frames.at(-1);
        const seconds = first && last ? Math.round((last.at - first.at) * 1000) / 1000 : 0;
        const mimeType = recording.format === "png" ? "image/png" : "image/jpeg";
        const artifact =
          args.output === "video"
            ? saveArtifact(session, "screencast", "screencast.mp4", "video/mp4", {
                blob: await encodeVideo(recording, sessions.options.ffmpegPath, ctx.signal),
              })
            : saveArtifact(session, "screencast", "screencast-frames.json", "application/json", {
                text: JSON.stringify({
                  mimeType,
                  frames: frames.map((f) => ({ at: f.at, data: f.data })),
                }),
              });
        const previews = [];
        for (let i = 0; i < args.previewFrames && i < frames.length; i++) {
          const index =
            args.previewFrames === 1
              ? frames.length - 1
              : Math.round((i * (frames.length - 1)) / (args.previewFrames - 1));
          const frame = frames[index];
          if (frame) previews.push({ type: "image" as const, data: frame.data, mimeType });
        }
        const data = {
          frames: frames.length,
          dropped: recording.dropped,
          seconds,
          resource: `devtools://artifacts/${artifact.id}`,
          mimeType: artifact.mimeType,
          bytes: artifact.bytes,
        };
        const summary = result(
          `Screencast: ${frames.length} frame(s) over ${seconds} s saved as ${artifact.name} (${artifact.bytes} bytes)`,
          data,
        );
        return { ...summary, content: [...summary.content, artifactLink(artifact), ...previews] };
      },
    }),
  ];
}
