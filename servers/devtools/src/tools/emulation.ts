import { defineTool, type ToolDefinition } from "@omni/kit";
import * as v from "valibot";
import type { SessionManager } from "../sessions.ts";
import { Effect, result } from "./util.ts";

interface Device {
  width: number;
  height: number;
  deviceScaleFactor: number;
  mobile: boolean;
  touch: boolean;
  userAgent?: string;
}

const DEVICES: Record<string, Device> = {
  "iPhone 15": {
    width: 393,
    height: 852,
    deviceScaleFactor: 3,
    mobile: true,
    touch: true,
    userAgent:
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
  },
  "Pixel 7": {
    width: 412,
    height: 915,
    deviceScaleFactor: 2.625,
    mobile: true,
    touch: true,
    userAgent:
      "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
  },
  "iPad Mini": {
    width: 768,
    height: 1024,
    deviceScaleFactor: 2,
    mobile: true,
    touch: true,
    userAgent:
      "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
  },
  "Laptop 1366": { width: 1366, height: 768, deviceScaleFactor: 1, mobile: false, touch: false },
  "Desktop 1920": { width: 1920, height: 1080, deviceScaleFactor: 1, mobile: false, touch: false },
};

export function emulationTools(sessions: SessionManager): ToolDefinition[] {
  return [
    defineTool({
      name: "chrome_set_viewport",
      title: "Set viewport",
      description:
        "Resize the viewport (CSS pixels) and device pixel ratio of every tab of this session, tabs opened later included; reset=true restores the default.",
      input: v.object({
        width: v.optional(
          v.pipe(
            v.number(),
            v.integer(),
            v.minValue(1),
            v.maxValue(10_000),
            v.description("Width in CSS pixels"),
          ),
        ),
        height: v.optional(
          v.pipe(
            v.number(),
            v.integer(),
            v.minValue(1),
            v.maxValue(10_000),
            v.description("Height in CSS pixels"),
          ),
        ),
        deviceScaleFactor: v.optional(
          v.pipe(v.number(), v.minValue(0.5), v.maxValue(5), v.description("Device pixel ratio (default 1)")),
          1,
        ),
        mobile: v.optional(
          v.pipe(v.boolean(), v.description("Emulate a mobile viewport (meta viewport, overlay scrollbars)")),
          false,
        ),
        reset: v.optional(v.pipe(v.boolean(), v.description("Remove the override")), false),
      }),
      annotations: Effect.set,
      async handler(args, ctx) {
        const tab = args.reset
          ? await sessions.emulate(
              ctx,
              "viewport",
              [{ method: "Emulation.clearDeviceMetricsOverride" }],
              false,
            )
          : await sessions.emulate(ctx, "viewport", [
              {
                method: "Emulation.setDeviceMetricsOverride",
                params: {
                  width: args.width ?? 1280,
                  height: args.height ?? 720,
                  deviceScaleFactor: args.deviceScaleFactor,
                  mobile: args.mobile,
                },
              },
            ]);
        const size = (
          await tab.evaluate("({ width: innerWidth, height: innerHeight, dpr: devicePixelRatio })")
        ).value;
        return result(args.reset ? "Viewport reset" : "Viewport set", { viewport: size });
      },
    }),
    defineTool({
      name: "chrome_emulate_device",
      title: "Emulate device",
      description: `Emulate a device in every tab of this session (tabs opened later included): viewport, pixel ratio, touch and user agent. Devices: ${Object.keys(DEVICES).join(", ")}.`,
      input: v.object({
        device: v.pipe(v.picklist(Object.keys(DEVICES)), v.description("Device preset")),
      }),
      annotations: Effect.set,
      async handler(args, ctx) {
        const device = DEVICES[args.device]!;
        await sessions.emulate(ctx, "viewport", [
          {
            method: "Emulation.setDeviceMetricsOverride",
            params: {
              width: device.width,
              height: device.height,
              deviceScaleFactor: device.deviceScaleFactor,
              mobile: device.mobile,
            },
          },
        ]);
        await sessions.emulate(ctx, "touch", [
          {
            method: "Emulation.setTouchEmulationEnabled",
            params: { enabled: device.touch, maxTouchPoints: device.touch ? 5 : 1 },
          },
        ]);
        if (device.userAgent) {
          await sessions.emulate(ctx, "userAgent", [
            { method: "Emulation.setUserAgentOverride", params: { userAgent: device.userAgent } },
          ]);
        }
        return result(`Emulating ${args.device}`, { device: args.device, ...device });
      },
    }),
    defineTool({
      name: "chrome_set_user_agent",
      title: "Set user agent",
      description:
        "Override the user agent (navigator.userAgent and the User-Agent header) and optionally Accept-Language in every tab of this session, tabs opened later included.",
      input: v.object({
        userAgent: v.pipe(
          v.string(),
          v.minLength(1, "userAgent must not be empty"),
          v.description("User agent string"),
        ),
        acceptLanguage: v.optional(v.pipe(v.string(), v.description("e.g. de-DE,de;q=0.9"))),
      }),
      annotations: Effect.set,
      async handler(args, ctx) {
        await sessions.emulate(ctx, "userAgent", [
          {
            method: "Emulation.setUserAgentOverride",
            params: {
              userAgent: args.userAgent,
              ...(args.acceptLanguage ? { acceptLanguage: args.acceptLanguage } : {}),
            },
          },
        ]);
        return result("User agent set", { userAgent: args.userAgent });
      },
    }),
    defineTool({
      name: "chrome_set_geolocation",
      title: "Set geolocation",
      description:
        "Grant geolocation to this session and report the given position to every tab of it (tabs opened later included); clear=true removes the override.",
      input: v.object({
        latitude: v.optional(
          v.pipe(v.number(), v.minValue(-90), v.maxValue(90), v.description("Latitude in degrees")),
        ),
        longitude: v.optional(
          v.pipe(v.number(), v.minValue(-180), v.maxValue(180), v.description("Longitude in degrees")),
        ),
        accuracy: v.optional(
          v.pipe(v.number(), v.minValue(0), v.description("Accuracy in metres (default 10)")),
          10,
        ),
        clear: v.optional(v.pipe(v.boolean(), v.description("Remove the override")), false),
      }),
      annotations: Effect.set,
      async handler(args, ctx) {
        const session = await sessions.session(ctx);
        if (args.clear) {
          await sessions.emulate(
            ctx,
            "geolocation",
            [{ method: "Emulation.clearGeolocationOverride" }],
            false,
          );
          return result("Geolocation override removed", { cleared: true });
        }
        if (args.latitude === undefined || args.longitude === undefined) {
          return {
            content: [{ type: "text", text: "Give latitude and longitude (or clear=true)" }],
            isError: true,
          };
        }
        await session.client.send("Browser.grantPermissions", {
          permissions: ["geolocation"],
          browserContextId: session.contextId,
        });
        await sessions.emulate(ctx, "geolocation", [
          {
            method: "Emulation.setGeolocationOverride",
            params: { latitude: args.latitude, longitude: args.longitude, accuracy: args.accuracy },
          },
        ]);
        return result(`Position set to ${args.latitude}, ${args.longitude}`, {
          latitude: args.latitude,
          longitude: args.longitude,
          accuracy: args.accuracy,
        });
      },
    }),
    defineTool({
      name: "chrome_throttle_cpu",
      title: "Throttle CPU",
      description:
        "Slow the CPU of every tab of this session (tabs opened later included) down by a factor (1 = no throttling, 4 = a mid-range phone, 20 = very slow).",
      input: v.object({
        rate: v.pipe(
          v.number(),
          v.minValue(1),
          v.maxValue(100),
          v.description("Slowdown factor, 1 to disable"),
        ),
      }),
      annotations: Effect.set,
      async handler(args, ctx) {
        await sessions.emulate(
          ctx,
          "cpu",
          [{ method: "Emulation.setCPUThrottlingRate", params: { rate: args.rate } }],
          args.rate !== 1,
        );
        return result(args.rate === 1 ? "CPU throttling off" : `CPU slowed down ${args.rate}×`, {
          rate: args.rate,
        });
      },
    }),
    defineTool({
      name: "chrome_set_color_scheme",
      title: "Colour scheme",
      description:
        "Emulate prefers-color-scheme (light or dark) and optionally prefers-reduced-motion, forced colours (Windows high-contrast mode) and prefers-contrast in every tab of this session (tabs opened later included); `auto` removes the colour-scheme override.",
      input: v.object({
        scheme: v.pipe(
          v.picklist(["light", "dark", "auto"]),
          v.description("light, dark, or auto (no override)"),
        ),
        reducedMotion: v.optional(
          v.pipe(v.boolean(), v.description("Also emulate prefers-reduced-motion: reduce")),
        ),
        forcedColors: v.optional(
          v.pipe(
            v.picklist(["active", "none"]),
            v.description("Emulate forced-colors: active (high-contrast mode) or none"),
          ),
        ),
        contrast: v.optional(
          v.pipe(
            v.picklist(["more", "less", "custom", "no-preference"]),
            v.description("Emulate prefers-contrast"),
          ),
        ),
      }),
      annotations: Effect.set,
      async handler(args, ctx) {
        const features = [{ name: "prefers-color-scheme", value: args.scheme === "auto" ? "" : args.scheme }];
        if (args.reducedMotion !== undefined) {
          features.push({ name: "prefers-reduced-motion", value: args.reducedMotion ? "reduce" : "" });
        }
        if (args.forcedColors) features.push({ name: "forced-colors", value: args.forcedColors });
        if (args.contrast) features.push({ name: "prefers-contrast", value: args.contrast });
        const tab = await sessions.emulate(ctx, "media", [
          { method: "Emulation.setEmulatedMedia", params: { features } },
        ]);
        const media = (
          await tab.evaluate(
            `({ dark: matchMedia("(prefers-color-scheme: dark)").matches, forcedColors: matchMedia("(forced-colors: active)").matches, moreContrast: matchMedia("(prefers-contrast: more)").matches, lessContrast: matchMedia("(prefers-contrast: less)").matches })`,
          )
        ).value as { dark: boolean; forcedColors: boolean; moreContrast: boolean; lessContrast: boolean };
        const extras = [
          args.forcedColors ? `forced colours ${args.forcedColors}` : "",
          args.contrast ? `contrast ${args.contrast}` : "",
        ].filter(Boolean);
        return result(`Colour scheme: ${args.scheme}${extras.length ? `, ${extras.join(", ")}` : ""}`, {
          scheme: args.scheme,
          prefersDark: media.dark,
          forcedColors: media.forcedColors,
          prefersContrast: media.moreContrast ? "more" : media.lessContrast ? "less" : "no-preference",
        });
      },
    }),
  ];
}
