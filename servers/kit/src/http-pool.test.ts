import { afterEach, describe, expect, test } from "bun:test";
import type { Socket, TCPSocketListener } from "bun";
import { HttpPool } from "./http-pool.ts";

/**
 * The pool against a raw TCP server that answers each request with scripted writes, so the tests decide
 * how the bytes are cut (a head alone, a body split inside a UTF-8 character, chunk sizes split from their
 * data) and can count the connections the pool opened.
 */
interface Script {
  /** Answers one request (its head and body as text) with these writes, in order; "close": hang up. */
  answer(request: string, connection: number): (string | Uint8Array)[] | "close";
}

let server: TCPSocketListener<{ seen: string; connection: number }> | undefined;
let pool: HttpPool | undefined;
let accepted = 0;
const received: string[] = [];

function listen(script: Script): string {
  accepted = 0;
  received.length = 0;
  server = Bun.listen<{ seen: string; connection: number }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        accepted++;
        socket.data = { seen: "", connection: accepted };
      },
      async data(socket: Socket<{ seen: string; connection: number }>, chunk) {
        socket.data.seen += chunk.toString("utf8");
        const end = socket.data.seen.indexOf("\r\n\r\n");
        if (end < 0) return;
        const length = Number(/content-length: (\d+)/i.exec(socket.data.seen)?.[1] ?? "0");
        const bodyBytes = Buffer.byteLength(socket.data.seen.slice(end + 4));
        if (bodyBytes < length) return;
        const request = socket.data.seen;
        socket.data.seen = "";
        received.push(request);
        const answer = script.answer(request, socket.data.connection);
        if (answer === "close") {
          socket.end();
          return;
        }
        for (const part of answer) {
          socket.write(part);
          socket.flush();
          await Bun.sleep(5);
        }
      },
    },
  });
  return `http://127.0.0.1:${server.port}`;
}

afterEach(() => {
  pool?.close();
  pool = undefined;
  server?.stop(true);
  server = undefined;
});

const utf8 = (text: string) => Buffer.from(text, "utf8");

describe("HttpPool", () => {
  test("a content-length body cut inside a UTF-8 character arrives whole; the connection is reused", async () => {
    const body = utf8('{"text":"héllo ✓"}');
    const cut = body.indexOf(0xe2) + 1; // inside the 3-byte check mark
    const url = listen({
      answer: () => [
        `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`,
        body.subarray(0, cut),
        body.subarray(cut),
      ],
    });
    pool = new HttpPool(url, { warm: false });
    const headers = { "content-type": "application/json" };
    for (let i = 0; i < 3; i++) {
      const response = await pool.request("POST", "/rpc/x", headers, '{"a":"ü"}');
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("application/json");
      expect(await response.text()).toBe('{"text":"héllo ✓"}');
    }
    expect(accepted).toBe(1);
    // The request body's length is counted in bytes, and every request carries the same head.
    expect(received[0]).toContain("content-length: 10\r\n");
    expect(received[0]?.endsWith('\r\n\r\n{"a":"ü"}')).toBe(true);
    expect(received[2]).toBe(received[0]);
  });

  test("a whole small answer in one write, head and body together", async () => {
    const url = listen({
      answer: () => ["HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok"],
    });
    pool = new HttpPool(url, { warm: false });
    const response = await pool.request("GET", "/health", {}, "");
    expect(response.status).toBe(201);
    expect(await response.text()).toBe("ok");
    const again = await pool.request("GET", "/health", {}, "");
    expect(await again.text()).toBe("ok");
    expect(accepted).toBe(1);
    expect(received[0]).toStartWith("GET /health HTTP/1.1\r\n");
  });

  test("a chunked body: sizes split from their data, chunks delivered in order, then keep-alive", async () => {
    const url = listen({
      answer: () => [
        "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-type: application/x-ndjson\r\n\r\n",
        "8\r",
        '\n{"a":1',
        "}\n\r\n8\r\n",
        '{"b":2}\n\r\n0\r\n\r\n',
      ],
    });
    pool = new HttpPool(url, { warm: false });
    const response = await pool.request("POST", "/rpc/tools/call", {}, "{}");
    let text = "";
    for await (const chunk of response.chunks()) text += Buffer.from(chunk).toString();
    expect(text).toBe('{"a":1}\n{"b":2}\n');
    const second = await pool.request("POST", "/rpc/tools/call", {}, "{}");
    expect(await second.text()).toBe('{"a":1}\n{"b":2}\n');
    expect(accepted).toBe(1);
  });

  test("aborting a request in flight rejects it and closes its connection", async () => {
    const url = listen({ answer: () => [] });
    pool = new HttpPool(url, { warm: false });
    const controller = new AbortController();
    const pending = pool.request("POST", "/slow", {}, "{}", controller.signal);
    await Bun.sleep(20);
    controller.abort();
    await expect(pending).rejects.toThrow();
    // The next request gets a new connection.
    const next = pool.request("POST", "/slow", {}, "{}", AbortSignal.timeout(50));
    await expect(next).rejects.toThrow();
    expect(accepted).toBe(2);
  });

  test("idle connections are closed after idleMs; the next request opens a new one", async () => {
    const url = listen({ answer: () => ["HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"] });
    pool = new HttpPool(url, { warm: false, idleMs: 40 });
    expect(await (await pool.request("GET", "/a", {}, "")).text()).toBe("ok");
    expect(await (await pool.request("GET", "/a", {}, "")).text()).toBe("ok");
    expect(accepted).toBe(1);
    await Bun.sleep(120);
    expect(await (await pool.request("GET", "/a", {}, "")).text()).toBe("ok");
    expect(accepted).toBe(2);
  });

  test("a GET on a kept-alive connection the server hung up is sent again on a new one; a POST is not", async () => {
    // Connection 1 answers once, then hangs up on its next request (a server restarted meanwhile).
    let onFirst = 0;
    const url = listen({
      answer: (_request, connection) =>
        connection === 1 && ++onFirst > 1 ? "close" : ["HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"],
    });
    pool = new HttpPool(url, { warm: false });
    expect(await (await pool.request("GET", "/a", {}, "")).text()).toBe("ok");
    expect(await (await pool.request("GET", "/a", {}, "")).text()).toBe("ok");
    expect(accepted).toBe(2);
    pool.close();
    server?.stop(true);
    onFirst = 0;
    const url2 = listen({
      answer: (_request, connection) =>
        connection === 1 && ++onFirst > 1 ? "close" : ["HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"],
    });
    pool = new HttpPool(url2, { warm: false });
    expect(await (await pool.request("POST", "/a", {}, "x")).text()).toBe("ok");
    await expect(pool.request("POST", "/a", {}, "x")).rejects.toThrow("closed");
    expect(accepted).toBe(1);
  });

  test("a server closing mid-body fails the body", async () => {
    const url = listen({ answer: () => ["HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc"] });
    pool = new HttpPool(url, { warm: false });
    const response = await pool.request("GET", "/cut", {}, "");
    await Bun.sleep(20);
    server?.stop(true);
    await expect(response.text()).rejects.toThrow();
  });
});
