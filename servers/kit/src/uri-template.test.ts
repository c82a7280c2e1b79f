import { expect, test } from "bun:test";
import { compileUriTemplate } from "./uri-template.ts";

test("matches level-1 variables and decodes them", () => {
  const t = compileUriTemplate("linear://teams/{team}/issues/{id}");
  expect(t.match("linear://teams/ENG/issues/ENG-12")).toEqual({ team: "ENG", id: "ENG-12" });
  expect(t.match("linear://teams/a%20b/issues/1")).toEqual({ team: "a b", id: "1" });
});

test("a variable never spans a path segment, query or fragment", () => {
  const t = compileUriTemplate("test://items/{id}");
  expect(t.match("test://items/1/2")).toBeUndefined();
  expect(t.match("test://items/1?x=2")).toBeUndefined();
  expect(t.match("test://items/")).toBeUndefined();
  expect(t.match("test://other/1")).toBeUndefined();
});

test("literal parts are matched exactly, regex characters included", () => {
  const t = compileUriTemplate("file:///logs/{name}.log");
  expect(t.match("file:///logs/app.log")).toEqual({ name: "app" });
  expect(t.match("file:///logs/appXlog")).toBeUndefined();
  expect(compileUriTemplate("test://fixed").match("test://fixed")).toEqual({});
});

test("a malformed escape is kept as sent", () => {
  expect(compileUriTemplate("test://{id}").match("test://%E0%A4%A")).toEqual({ id: "%E0%A4%A" });
});
