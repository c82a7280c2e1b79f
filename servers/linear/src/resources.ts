import { type ResourceDefinition, ResourceNotFoundError, type ResourceTemplateDefinition } from "@omni/kit";
import * as v from "valibot";
import { teamFilter } from "./filters.ts";
import { type LinearOptions, linearFor } from "./linear.ts";
import { IssueDetailWire, IssueSummaryWire, page, Team } from "./model.ts";
import * as Q from "./queries.ts";

const json = (uri: string, value: unknown) => ({
  contents: [{ uri, mimeType: "application/json", text: JSON.stringify(value, null, 2) }],
});

/** Linear's "no such entity" answer becomes the MCP resource-not-found error (-32002) for `uri`. */
async function orNotFound<T>(uri: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof Error && /entity not found/i.test(error.message)) {
      throw new ResourceNotFoundError(`Resource not found: ${uri} (Linear has no such issue)`);
    }
    throw error;
  }
}

/** Live Linear data as MCP resources: the teams, a team's open issues, one issue. */
export function linearResources(options: LinearOptions): {
  resources: ResourceDefinition[];
  resourceTemplates: ResourceTemplateDefinition[];
} {
  return {
    resources: [
      {
        uri: "linear://teams",
        name: "linear-teams",
        title: "Linear teams",
        description: "The workspace's teams (id, key, name).",
        mimeType: "application/json",
        async read(ctx) {
          const r = await linearFor(ctx.config, options, ctx.signal).read(
            Q.TEAMS,
            { first: 250 },
            v.object({ teams: page(Team) }),
          );
          return json("linear://teams", r.teams.nodes);
        },
      },
    ],
    resourceTemplates: [
      {
        uriTemplate: "linear://teams/{teamId}/issues",
        name: "linear-team-issues",
        title: "A Linear team's open issues",
        description:
          "The 50 most recently updated issues of a team (by id or key) that are not completed or canceled.",
        mimeType: "application/json",
        async read(uri, vars, ctx) {
          const team = vars.teamId ?? "";
          const r = await linearFor(ctx.config, options, ctx.signal).read(
            Q.ISSUES,
            {
              filter: { team: teamFilter(team), state: { type: { nin: ["completed", "canceled"] } } },
              first: 50,
            },
            v.object({ issues: page(IssueSummaryWire) }),
          );
          return json(uri, r.issues.nodes);
        },
      },
      {
        uriTemplate: "linear://issues/{identifier}",
        name: "linear-issue",
        title: "A Linear issue",
        description: "One issue (e.g. linear://issues/ENG-123) with description, sub-issues and comments.",
        mimeType: "application/json",
        async read(uri, vars, ctx) {
          const linear = linearFor(ctx.config, options, ctx.signal);
          const r = await orNotFound(uri, () =>
            linear.read(
              Q.ISSUE,
              { id: vars.identifier ?? "" },
              v.object({ issue: v.nullable(IssueDetailWire) }),
            ),
          );
          if (!r.issue)
            throw new ResourceNotFoundError(`Resource not found: ${uri} (Linear has no such issue)`);
          return json(uri, r.issue);
        },
      },
    ],
  };
}
