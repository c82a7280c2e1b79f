import { describe, expect, test } from "bun:test";
import { ErrorCode } from "@omni/contracts";
import { RpcError } from "../protocol.ts";
import { ModernErrorCode } from "./envelope.ts";
import { modernError } from "./handler.ts";

const logged: unknown[] = [];
const logger = { error: (...args: unknown[]) => logged.push(args) };

describe("modernError", () => {
  test("the kit's missing-capability error becomes -32021 with HTTP 400 and its requiredCapabilities", () => {
    const error = new RpcError(ErrorCode.MissingClientCapability, "no sampling", {
      requiredCapabilities: { sampling: {} },
    });
    expect(modernError(error, logger)).toEqual({
      status: 400,
      error: {
        code: ModernErrorCode.MissingRequiredClientCapability,
        message: "no sampling",
        data: { requiredCapabilities: { sampling: {} } },
      },
    });
  });

  test("resource not found is the revision's -32602 (uri kept); unknown methods are HTTP 404", () => {
    expect(modernError(new RpcError(ErrorCode.ResourceNotFound, "gone", { uri: "a://b" }), logger)).toEqual({
      status: 200,
      error: { code: ErrorCode.InvalidParams, message: "gone", data: { uri: "a://b" } },
    });
    expect(modernError(new RpcError(ErrorCode.MethodNotFound, "nope"), logger).status).toBe(404);
    expect(modernError(new RpcError(ErrorCode.InvalidParams, "bad"), logger)).toEqual({
      status: 200,
      error: { code: ErrorCode.InvalidParams, message: "bad" },
    });
  });

  test("anything else is an internal error without details (and is logged)", () => {
    expect(modernError(new Error("secret stack"), logger)).toEqual({
      status: 200,
      error: { code: ErrorCode.InternalError, message: "Internal error" },
    });
    expect(logged).toHaveLength(1);
  });
});
