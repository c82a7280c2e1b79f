import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";

/**
 * The Kubernetes manifests under deploy/kubernetes, offline: every object validated against the
 * Kubernetes API's JSON schemas (the `kubernetes-models` package ships validators compiled with ajv from
 * the API's OpenAPI definitions), and the deployment's own rules: gateway replicas, probes and drain,
 * HPA and PDB aimed at the gateway, every env var from a ConfigMap or Secret key that exists, every key a
 * variable documented in .env.example.
 */

const dir = join(import.meta.dir, "../../deploy/kubernetes");
type Manifest = { apiVersion: string; kind: string; metadata: { name: string }; [k: string]: unknown };

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  "v1/Namespace": Namespace,
  "v1/ConfigMap": ConfigMap,
  "v1/Secret": Secret,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
};

async function load(): Promise<{ file: string; doc: Manifest }[]> {
  const out: { file: string; doc: Manifest }[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .sort()) {
    const parsed = Bun.YAML.parse(await Bun.file(join(dir, file)).text());
    for (const doc of Array.isArray(parsed) ? parsed : [parsed]) out.push({ file, doc: doc as Manifest });
  }
  return out;
}

const all = await load();
const objects = all.filter(({ doc }) => doc.kind !== "Kustomization");
const of = (kind: string) => objects.filter(({ doc }) => doc.kind === kind).map(({ doc }) => doc);
const deployments = of("Deployment") as unknown as DeploymentShape[];

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string };
    configMapKeyRef?: { name: string; key: string };
  };
}
interface Container {
  name: string;
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  readinessProbe?: { httpGet?: { path: string } };
  livenessProbe?: { httpGet?: { path: string } };
  lifecycle?: { preStop?: unknown };
}
interface DeploymentShape {
  metadata: { name: string };
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: { terminationGracePeriodSeconds?: number; containers: Container[] };
    };
  };
}

describe("deploy/kubernetes", () => {
  test("every object is valid against the Kubernetes schemas (and an invalid one is caught)", () => {
    expect(objects.length).toBeGreaterThanOrEqual(12);
    for (const { file, doc } of objects) {
      const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
      if (!Model) throw new Error(`${file}: no schema for ${doc.apiVersion} ${doc.kind}`);
      try {
        new Model(doc as never).validate();
      } catch (error) {
        throw new Error(`${file}: ${doc.kind} ${doc.metadata?.name}: ${String(error)}`);
      }
    }
    const broken = structuredClone(deployments[0]!) as unknown as { spec: { replicas: unknown } };
    broken.spec.replicas = "two";
    expect(() => new Deployment(broken as never).validate()).toThrow(/replicas/);
  });

  test("kustomization lists every manifest but the example Secret", () => {
    const kustomization = all.find(({ doc }) => doc.kind === "Kustomization")?.doc as unknown as {
      resources: string[];
    };
    const files = [...new Set(objects.map((o) => o.file))].filter((f) => f !== "secret.example.yaml");
    expect([...kustomization.resources].sort()).toEqual(files.sort());
  });

  test("the gateway: ≥2 replicas, readiness /ready, liveness /health, graceful drain, HPA and PDB on it", () => {
    const gateway = deployments.find((d) => d.metadata.name === "omni-gateway")!;
    expect(gateway.spec.replicas).toBeGreaterThanOrEqual(2);
    const container = gateway.spec.template.spec.containers[0]!;
    expect(container.readinessProbe?.httpGet?.path).toBe("/ready");
    expect(container.livenessProbe?.httpGet?.path).toBe("/health");
    expect(container.lifecycle?.preStop).toBeDefined();
    expect(gateway.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(5);
    const hpa = of("HorizontalPodAutoscaler")[0] as unknown as {
      spec: { scaleTargetRef: { kind: string; name: string }; minReplicas: number };
    };
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: "Deployment", name: "omni-gateway" });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    const pdb = of("PodDisruptionBudget")[0] as unknown as {
      spec: { selector: { matchLabels: Record<string, string> } };
    };
    for (const [k, v] of Object.entries(pdb.spec.selector.matchLabels)) {
      expect(gateway.spec.template.metadata.labels[k]).toBe(v);
    }
    for (const service of of("Service") as unknown as {
      metadata: { name: string };
      spec: { selector: Record<string, string> };
    }[]) {
      const target = deployments.find((d) =>
        Object.entries(service.spec.selector).every(([k, v]) => d.spec.template.metadata.labels[k] === v),
      );
      expect(target).toBeDefined();
    }
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual([
      "omni-devtools",
      "omni-gateway",
      "omni-linear",
      "omni-perplexity",
    ]);
  });

  test("every env var comes from a ConfigMap or Secret key that exists, each a documented variable", async () => {
    const configMaps = new Map(
      (of("ConfigMap") as unknown as { metadata: { name: string }; data: Record<string, string> }[]).map(
        (c) => [c.metadata.name, c.data],
      ),
    );
    const secrets = new Map(
      (of("Secret") as unknown as { metadata: { name: string }; stringData: Record<string, string> }[]).map(
        (s) => [s.metadata.name, s.stringData],
      ),
    );
    const documented = new Set(
      [
        ...(await Bun.file(join(import.meta.dir, "../../.env.example")).text()).matchAll(
          /^#?\s*([A-Z][A-Z0-9_]+)=/gm,
        ),
      ].map((m) => m[1]),
    );
    for (const data of [...configMaps.values(), ...secrets.values()]) {
      for (const key of Object.keys(data))
        expect({ key, documented: documented.has(key) }).toEqual({ key, documented: true });
    }
    for (const d of deployments) {
      for (const c of d.spec.template.spec.containers) {
        for (const from of c.envFrom ?? []) {
          if (from.configMapRef) expect(configMaps.has(from.configMapRef.name)).toBe(true);
          if (from.secretRef) expect(secrets.has(from.secretRef.name)).toBe(true);
        }
        for (const env of c.env ?? []) {
          expect({ name: env.name, documented: documented.has(env.name) }).toEqual({
            name: env.name,
            documented: true,
          });
          const secret = env.valueFrom?.secretKeyRef;
          const config = env.valueFrom?.configMapKeyRef;
          if (secret) expect(Object.keys(secrets.get(secret.name) ?? {})).toContain(secret.key);
          else if (config) expect(Object.keys(configMaps.get(config.name) ?? {})).toContain(config.key);
          else expect(["HOST", "PORT", "OTEL_SERVICE_NAME"]).toContain(env.name);
        }
      }
    }
  });
});
