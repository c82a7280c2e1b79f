import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ServerCapabilities } from "@omni/contracts";
import { parse } from "yaml";
import { nearDuplicatePrompts, promptNameProblem } from "../src/catalogue.ts";
import { composeFile, discoverServers, nextServerPort, serversEnv } from "../src/folders.ts";
import { deploymentToken } from "../src/internal-token.ts";

/**
 * "A new domain server is one folder": what `bun run dev`, compose.yaml and the Dockerfile start is
 * exactly the server folders under servers/, and every server's own default prompts follow one naming
 * convention without near-duplicates (read from each server's real `/rpc/capabilities`).
 */

setDefaultTimeout(60_000);
const root = new URL("../../..", import.meta.url).pathname;
const temps: string[] = [];
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** The folders a person sees under servers/: every one with a kit server (a package.json using the kit). */
function serverFolders(): string[] {
  return readdirSync(join(root, "servers"), { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== "kit")
    .filter((d) => {
      try {
        const manifest = JSON.parse(readFileSync(join(root, "servers", d.name, "package.json"), "utf8"));
        return Boolean(manifest.dependencies?.["@omni/kit"]);
      } catch {
        return false;
      }
    })
    .map((d) => d.name)
    .sort();
}

describe("server folders", () => {
  test("discovery finds every servers/* folder but kit, on the documented ports", () => {
    const found = discoverServers(root, {});
    expect(found.map((s) => s.name)).toEqual(serverFolders());
    const ports = new Map(found.map((s) => [s.name, s.port]));
    expect(ports.get("linear")).toBe(3001);
    expect(ports.get("perplexity")).toBe(3002);
    expect(ports.get("devtools")).toBe(3003);
    expect(new Set(ports.values()).size).toBe(found.length);
    // <NAME>_PORT wins; a bad value is named.
    const moved = discoverServers(root, { LINEAR_PORT: "41555" });
    expect(moved.find((s) => s.name === "linear")?.port).toBe(41555);
    expect(moved.find((s) => s.name === "linear")?.portVariable).toBe("LINEAR_PORT");
    expect(() => discoverServers(root, { DEVTOOLS_PORT: "nope" })).toThrow(/DEVTOOLS_PORT/);
    expect(serversEnv(found)).toContain("linear=http://127.0.0.1:3001");
  });

  test("a new folder (no port declared) gets the next port; one without the kit is not a server", () => {
    const repo = mkdtempSync(join(tmpdir(), "omni-folders-"));
    temps.push(repo);
    const folder = (name: string, manifest: object) => {
      mkdirSync(join(repo, "servers", name, "src"), { recursive: true });
      writeFileSync(join(repo, "servers", name, "package.json"), JSON.stringify(manifest));
      writeFileSync(join(repo, "servers", name, "src", "index.ts"), "");
    };
    folder("kit", { name: "@omni/kit" });
    folder("linear", { dependencies: { "@omni/kit": "workspace:*" }, omni: { port: 3001 } });
    folder("devtools", { dependencies: { "@omni/kit": "workspace:*" }, omni: { port: 3003 } });
    folder("zeta", { dependencies: { "@omni/kit": "workspace:*" } });
    folder("hr-tools", { dependencies: { "@omni/kit": "workspace:*" } });
    folder("notes", { dependencies: {} });
    const found = discoverServers(repo, {});
    expect(found.map((s) => [s.name, s.port, s.portVariable])).toEqual([
      ["devtools", 3003, "DEVTOOLS_PORT"],
      ["hr-tools", 3004, "HR_TOOLS_PORT"],
      ["linear", 3001, "LINEAR_PORT"],
      ["zeta", 3005, "ZETA_PORT"],
    ]);
    expect(nextServerPort(repo)).toBe(3006);
  });

  test("compose.yaml is generated from the folders: a service per server, the gateway routes to each", () => {
    const text = readFileSync(join(root, "compose.yaml"), "utf8");
    const servers = discoverServers(root, {});
    // Committed and current: a new folder without `bun run compose` fails here.
    expect(text).toBe(composeFile(servers));
    const compose = parse(text, { merge: true }) as {
      services: Record<
        string,
        {
          command?: string[];
          build?: { target?: string };
          environment?: Record<string, string>;
          depends_on?: Record<string, unknown>;
        }
      >;
    };
    const gateway = compose.services["gateway-a"]!;
    const routed = new Map(
      gateway.environment!.SERVERS!.split(",").map((entry) => entry.split("=") as [string, string]),
    );
    for (const name of serverFolders()) {
      const service = compose.services[name];
      expect(service, `compose.yaml has no service "${name}"`).toBeDefined();
      expect(service!.command).toEqual(["bun", `servers/${name}/src/index.ts`]);
      const port = service!.environment!.PORT;
      expect(routed.get(name)).toBe(`http://${name}:${port}`);
      expect(gateway.depends_on).toHaveProperty(name);
    }
    expect(compose.services.devtools!.build?.target).toBe("devtools");
    expect(compose.services.linear!.build?.target).toBe("app");
  });

  test("the Dockerfile installs every folder's manifest without naming any, and has each server's stage", () => {
    const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8");
    for (const name of serverFolders()) {
      expect(dockerfile).not.toContain(`COPY servers/${name}/`);
    }
    const stages = [...dockerfile.matchAll(/^FROM \S+ AS (\S+)$/gm)].map((m) => m[1]);
    for (const server of discoverServers(root, {})) expect(stages).toContain(server.dockerTarget);

    // Run the manifests stage's own command on a copy of this checkout's tracked files.
    const run = /^FROM \S+ AS manifests\n(?:.*\n)*?RUN ((?:.*\\\n)*.*)$/m.exec(dockerfile)?.[1];
    expect(run).toBeDefined();
    const work = mkdtempSync(join(tmpdir(), "omni-docker-"));
    temps.push(work);
    const src = join(work, "src");
    const tracked = Bun.spawnSync(["git", "ls-files", "-co", "--exclude-standard"], { cwd: root })
      .stdout.toString()
      .split("\n")
      .filter((p) => p && !p.includes("node_modules"));
    for (const path of tracked) {
      try {
        mkdirSync(join(src, path, ".."), { recursive: true });
        cpSync(join(root, path), join(src, path));
      } catch {
        // a deleted but still indexed file
      }
    }
    const script = run!.replaceAll("/manifests", join(work, "manifests")).replaceAll("\\\n", " ");
    const done = Bun.spawnSync(["sh", "-c", script], { cwd: src, stderr: "pipe" });
    expect(done.exitCode, done.stderr.toString()).toBe(0);
    for (const name of serverFolders()) {
      expect(readFileSync(join(work, "manifests", "servers", name, "package.json"), "utf8")).toBe(
        readFileSync(join(root, "servers", name, "package.json"), "utf8"),
      );
    }
    expect(readFileSync(join(work, "manifests", "bun.lock"), "utf8").length).toBeGreaterThan(0);
  });
});

/** Each server's capabilities, as its own app serves them to the gateway (no port opened). */
async function capabilitiesOf(name: string): Promise<ServerCapabilities> {
  const module = (await import(join(root, "servers", name, "src", "app.ts"))) as {
    createApp: () => { handle(request: Request): Promise<Response> };
  };
  const response = await module.createApp().handle(
    new Request("http://127.0.0.1/rpc/capabilities", {
      // The token the apps check: this process's, read once (an earlier test file may have read it first).
      headers: { authorization: `Bearer ${deploymentToken()}` },
    }),
  );
  expect(response.status).toBe(200);
  return (await response.json()) as ServerCapabilities;
}

describe("default prompts of every server", () => {
  process.env.OMNI_INTERNAL_TOKEN ||= `folders-test-${crypto.randomUUID()}`;

  test("follow <server>_<verb>_<object>, declare their placeholders, and have no near-duplicates", async () => {
    const all: { server: string; name: string; title?: string; description?: string }[] = [];
    for (const name of serverFolders()) {
      const caps = await capabilitiesOf(name);
      expect(caps.server.name).toBe(name);
      expect(caps.server.title?.length ?? 0).toBeGreaterThan(0);
      expect(caps.server.description?.length ?? 0).toBeGreaterThan(20);
      for (const prompt of caps.prompts) {
        expect(promptNameProblem(name, prompt.name)).toBeNull();
        expect(prompt.description?.length ?? 0).toBeGreaterThan(0);
        const declared = new Set((prompt.arguments ?? []).map((a) => a.name));
        for (const message of prompt.messages) {
          for (const match of message.text.matchAll(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g)) {
            expect(declared.has(match[1]!), `${prompt.name} uses {{${match[1]}}}`).toBe(true);
          }
        }
        all.push({ server: name, ...prompt });
      }
      for (const resource of caps.defaultResources ?? []) {
        expect(resource.uri.startsWith(`${name}://`)).toBe(true);
      }
    }
    expect(all.length).toBeGreaterThanOrEqual(7);
    expect(nearDuplicatePrompts(all)).toEqual([]);
  });

  test("the checks catch names outside the convention and the near-duplicates there were", () => {
    expect(promptNameProblem("devtools", "debugging")).toMatch(/start with/);
    expect(promptNameProblem("linear", "linear_triage")).toMatch(/verb and an object/);
    expect(promptNameProblem("linear", "linear_Triage_issues")).toMatch(/snake_case/);
    expect(promptNameProblem("linear", "linear__triage")).toMatch(/snake_case/);
    expect(promptNameProblem("hr-tools", "hr-tools_greet_person")).toMatch(/start with/);
    expect(promptNameProblem("hr-tools", "hr_tools_greet_person")).toBeNull();
    expect(promptNameProblem("linear", "linear_triage_issues")).toBeNull();

    const before = [
      { server: "devtools", name: "debugging", title: "Debug a broken page" },
      { server: "devtools", name: "devtools_debug_page", title: "Debug a web page" },
      { server: "linear", name: "issue-triage", title: "Triage incoming issues" },
      {
        server: "linear",
        name: "linear_triage",
        title: "Triage a Linear team's inbox",
        description: "Review a team's untriaged and backlog issues and propose priorities and owners.",
      },
    ];
    const pairs = nearDuplicatePrompts(before).map((p) => [p.a, p.b]);
    expect(pairs).toContainEqual(["debugging", "devtools_debug_page"]);
    expect(pairs).toContainEqual(["issue-triage", "linear_triage"]);
    // Same words in the description, other names: still a near-duplicate.
    const text = "Compare heap snapshots around a repeated action to find what grows.";
    expect(
      nearDuplicatePrompts([
        { server: "a", name: "a_find_leak", description: text },
        { server: "b", name: "b_hunt_memory", description: `${text} Quickly.` },
      ]),
    ).toHaveLength(1);
  });
});
