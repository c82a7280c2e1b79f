import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";

/** Where a connection may go: the address to dial (the one the policy checked), or why not. */
export type HostDecision = { address: string } | { reason: string };

const NO_AUTH = Buffer.from([5, 0]);
const reply = (code: number) => Buffer.from([5, code, 0, 1, 0, 0, 0, 0, 0, 0]);
/** SOCKS5 reply codes. */
const SUCCEEDED = 0;
const NOT_ALLOWED = 2;
const HOST_UNREACHABLE = 4;
const COMMAND_NOT_SUPPORTED = 7;

/** The destination of a SOCKS5 CONNECT request in `buf`, `null` when more bytes are needed, or an error. */
function parseRequest(buf: Buffer): { host: string; port: number; length: number } | null | "bad" {
  if (buf.length < 5) return null;
  if (buf[0] !== 5) return "bad";
  const atyp = buf[3];
  let host: string;
  let offset: number;
  if (atyp === 1) {
    if (buf.length < 10) return null;
    host = [...buf.subarray(4, 8)].join(".");
    offset = 8;
  } else if (atyp === 3) {
    const len = buf[4] ?? 0;
    if (buf.length < 5 + len + 2) return null;
    host = buf.subarray(5, 5 + len).toString("latin1");
    offset = 5 + len;
  } else if (atyp === 4) {
    if (buf.length < 22) return null;
    const parts: string[] = [];
    for (let i = 4; i < 20; i += 2) parts.push(buf.readUInt16BE(i).toString(16));
    host = parts.join(":");
    offset = 20;
  } else {
    return "bad";
  }
  return { host, port: buf.readUInt16BE(offset), length: offset + 2 };
}

/**
 * A SOCKS5 proxy on loopback for one browser context: every connection Chromium opens for it (HTTP,
 * HTTPS, WebSocket) names its host, which `decide` checks (and resolves); the proxy dials exactly the
 * address that was checked, so neither a WebSocket (which CDP's Fetch interception never sees) nor a
 * second DNS answer (rebinding) reaches a destination the policy refused.
 */
export class PolicyProxy {
  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly sockets: Set<Socket>,
  ) {}

  static start(
    decide: (host: string, port: number) => Promise<HostDecision>,
    onRefused: (host: string, port: number, reason: string) => void = () => undefined,
    dial: (address: string, port: number) => { host: string; port: number } = (host, port) => ({
      host,
      port,
    }),
  ): Promise<PolicyProxy> {
    const sockets = new Set<Socket>();
    const server = createServer((client) => {
      sockets.add(client);
      client.on("close", () => sockets.delete(client));
      client.on("error", () => client.destroy());
      let buf = Buffer.alloc(0);
      let stage: "greeting" | "request" | "done" = "greeting";
      const onData = (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        if (stage === "greeting") {
          if (buf.length < 2) return;
          const n = buf[1] ?? 0;
          if (buf[0] !== 5) return void client.destroy();
          if (buf.length < 2 + n) return;
          buf = buf.subarray(2 + n);
          client.write(NO_AUTH);
          stage = "request";
        }
        if (stage !== "request") return;
        const request = parseRequest(buf);
        if (request === null) return;
        stage = "done";
        client.off("data", onData);
        if (request === "bad" || buf[1] !== 1) {
          client.end(reply(COMMAND_NOT_SUPPORTED));
          return;
        }
        const rest = buf.subarray(request.length);
        client.pause();
        void decide(request.host, request.port).then(
          (decision) => {
            if ("reason" in decision) {
              onRefused(request.host, request.port, decision.reason);
              client.end(reply(NOT_ALLOWED));
              return;
            }
            const target = dial(decision.address, request.port);
            const upstream = tcpConnect({ host: target.host, port: target.port });
            sockets.add(upstream);
            upstream.on("close", () => sockets.delete(upstream));
            upstream.once("connect", () => {
              client.write(reply(SUCCEEDED));
              if (rest.length) upstream.write(rest);
              client.pipe(upstream);
              upstream.pipe(client);
              client.resume();
            });
            upstream.on("error", () => {
              if (!client.destroyed) client.end(reply(HOST_UNREACHABLE));
              upstream.destroy();
            });
            client.on("close", () => upstream.destroy());
          },
          () => client.end(reply(NOT_ALLOWED)),
        );
      };
      client.on("data", onData);
    });
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        const address = server.address();
        const port = typeof address === "object" && address ? address.port : 0;
        server.unref();
        resolve(new PolicyProxy(server, port, sockets));
      });
    });
  }

  close(): void {
    this.server.close();
    for (const socket of this.sockets) socket.destroy();
  }
}
